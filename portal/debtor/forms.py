"""Portal forms (Flask-WTF: every form carries a CSRF token). Field names follow DESIGN.md 5."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, SelectChoice, SelectField,
                     SelectMultipleField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..answers import MAX_MESSAGE, MESSAGE_REASONS


class MultiCheckbox(SelectMultipleField):
    """Checkboxes; "at least one" is checked on the server, not announced on each box."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {"required": False})
        super().__init__(*args, **kwargs)


class ActionForm(FlaskForm):
    """A button with nothing to fill in (never received, send me a fresh link)."""


def invoice_choices(invoices):
    return [SelectChoice(i.id, i.number) for i in invoices]


class PromiseForm(FlaskForm):
    invoice_ids = MultiCheckbox(_l("Invoices"), coerce=int,
                                validators=[DataRequired(_l("Choose at least one invoice."))])
    promise_date = DateField(_l("I will pay on"),
                             validators=[InputRequired(_l("Choose a date."))])


class MessageForm(FlaskForm):
    reason = SelectField(_l("Subject"), choices=[SelectChoice(k, v) for k, v in MESSAGE_REASONS.items()],
                         validators=[DataRequired()])
    text = TextAreaField(_l("Your message"), validators=[Length(max=MAX_MESSAGE)])


class PlanForm(FlaskForm):
    invoice_ids = MultiCheckbox(_l("Invoices"), coerce=int,
                                validators=[DataRequired(_l("Choose at least one invoice."))])
    instalment_count = IntegerField(_l("Number of instalments"),
                                    validators=[InputRequired(_l("Choose how many instalments."))])
    first_instalment_date = DateField(_l("First instalment on"),
                                      validators=[InputRequired(_l("Choose a date."))])
    reason = TextAreaField(_l("Why do you need more time? (optional)"),
                           validators=[Length(max=MAX_MESSAGE)])
    accept = BooleanField(_l("I accept this schedule and undertake to pay each instalment on its "
                             "date."))


class PayForm(FlaskForm):
    invoice_ids = MultiCheckbox(_l("Invoices"), coerce=int)
    instalment = HiddenField()

    def validate_invoice_ids(self, field):
        if self.instalment.data != "next" and not field.data:
            raise ValidationError(_l("Choose at least one invoice."))
