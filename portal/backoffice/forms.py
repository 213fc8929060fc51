"""Back-office forms (CSRF on every one). Labels and choices are lazy: translated when shown, in
the language of the user who sees them."""
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (DateField, EmailField, HiddenField, IntegerField, PasswordField,
                     SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import clock
from ..imports import FIRST_DAY, parse_amount

# Each language in its own name, whatever the page's language (the switch in the header).
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[SelectChoice("approve", _l("Accept")),
                                                    SelectChoice("counter", _l("Counter-propose")),
                                                    SelectChoice("reject", _l("Refuse"))],
                           validators=[DataRequired()])
    count = IntegerField(_l("Counter-proposal: number of instalments"), validators=[Optional()])
    first_date = DateField(_l("Counter-proposal: first instalment on"),
                           validators=[Optional()])
    note = TextAreaField(_l("Message to the customer (required for a refusal)"),
                         validators=[Length(max=2000)])


class PostForm(FlaskForm):
    """A button (logout)."""


class LanguageForm(FlaskForm):
    """The back office's language for the user logged in; `next` is the page to go back to."""
    language = SelectField(choices=[SelectChoice(code, name)
                                    for code, name in LANGUAGE_NAMES.items()],
                           validators=[DataRequired()])
    next = HiddenField()


class CreditorForm(FlaskForm):
    """The creditor to work for, among the user's (choices set by the view)."""
    creditor = SelectField(_l("Creditor"), choices=[], validators=[DataRequired()])
    next = HiddenField()  # the page to show again, when it is one every creditor has


class HoldForm(FlaskForm):
    """Put some invoices (none ticked: all the debtor's open ones) on hold, with why and until
    when; the invoice choices are the debtor's open invoices (set by the view)."""
    invoice_ids = SelectMultipleField(_l("Invoices (none ticked: all of them)"), coerce=int,
                                      choices=[], validate_choice=True)
    reason = StringField(_l("Why"), validators=[DataRequired(), Length(max=200)])
    until = DateField(_l("Until (empty: until you lift it)"), validators=[Optional()])


class NoteForm(FlaskForm):
    """A note on the debtor's timeline, with a file if there is one (a letter received...)."""
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=2000)])
    file = FileField(_l("Attach a file (optional, 5 MB at most)"))


class PauseForm(FlaskForm):
    until = DateField(_l("Suspend reminders until"), validators=[Optional()])


class TierForm(FlaskForm):
    """Tier, debtor category and policy; the policies are the creditor's (`with_policies`)."""
    tier = SelectField(_l("Category"), choices=[SelectChoice("key", _l("Key account")),
                                                SelectChoice("standard", _l("Standard")),
                                                SelectChoice("risky", _l("At risk"))])
    debtor_type = SelectField(_l("Debtor type"), choices=[
        SelectChoice("business", _l("Business (L441-10 penalties)")),
        SelectChoice("consumer", _l("Consumer (no fixed indemnity)")),
        SelectChoice("public", _l("Public buyer (late-payment interest)"))])
    policy = SelectField(_l("Reminder policy"), choices=[])

    def with_policies(self, settings):
        """The policy choices, each with its delays read from its levels ("D-3, D+7, ...")."""
        day = _("D%(days)+d")  # "J-3" in French: the day of a level, from the due date
        self.policy.choices = []
        for p in settings.policies.values():
            delays = ", ".join(day % {"days": lv.offset_days} for lv in p.levels)
            self.policy.choices.append(SelectChoice(
                p.name, _("%(policy)s (%(delays)s)", policy=p.label or p.name, delays=delays)))
        return self


class CallOutcomeForm(FlaskForm):
    reached = SelectField(_l("Outcome"), choices=[SelectChoice("reached", _l("Reached")),
                                                  SelectChoice("not_reached", _l("Not reached"))])
    promise_date = DateField(_l("Promised payment date"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])


class HandoffForm(FlaskForm):
    """Hand the file over: to whom, and the debtor's identity the dossier names."""
    to = SelectField(_l("Hand the file over to"), choices=[
        SelectChoice("bailiff", _l("a bailiff (commissaire de justice)")),
        SelectChoice("injonction", _l("the injonction de payer procedure"))],
        validators=[DataRequired()])
    siren = StringField(_l("Debtor's SIREN (9 digits)"), validators=[Length(max=20)])
    address = TextAreaField(_l("Debtor's postal address"), validators=[Length(max=300)])

    def validate_siren(self, field):
        digits = "".join((field.data or "").split())
        if digits and not (digits.isascii() and digits.isdigit() and len(digits) == 9):
            raise ValidationError(_("A SIREN is 9 digits."))
        field.data = digits


class ReceivedForm(FlaskForm):
    """A payment received outside Relance, typed by the accountant on the debtor's page."""
    invoice_number = StringField(_l("Invoice"), validators=[DataRequired(), Length(max=64)])
    amount = StringField(_l("Amount received"), validators=[DataRequired(), Length(max=40)])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    reference = StringField(_l("Bank reference (for a transfer)"),
                            validators=[Optional(), Length(max=255)],
                            filters=[lambda text: text.strip() if text else text])

    def validate_amount(self, field):
        try:
            self.cents = parse_amount(field.data)
        except ValueError:
            raise ValidationError(_("%(amount)s is not an amount: write 1234.56 or 1 234,56.",
                                    amount=field.data[:40])) from None
        if self.cents <= 0:
            raise ValidationError(_("The amount received must be more than zero."))

    def validate_received_on(self, field):
        if not FIRST_DAY <= field.data <= clock.today():
            raise ValidationError(_("The date received must be a day between 1990 and today."))

    def validate_reference(self, field):
        if field.data and not field.data.isprintable():
            raise ValidationError(_("The reference holds characters a bank never prints."))
