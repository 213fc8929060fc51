"""Back-office forms (CSRF on every one)."""
from flask_wtf import FlaskForm
from wtforms import (DateField, EmailField, IntegerField, PasswordField, SelectChoice,
                     SelectField, TextAreaField)
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=1000)])


class DecisionForm(FlaskForm):
    decision = SelectField("Décision", choices=[SelectChoice("approve", "Accepter"),
                                                SelectChoice("counter", "Contre-proposer"),
                                                SelectChoice("reject", "Refuser")],
                           validators=[DataRequired()])
    count = IntegerField("Contre-proposition : nombre d'échéances", validators=[Optional()])
    first_date = DateField("Contre-proposition : première échéance le", validators=[Optional()])
    note = TextAreaField("Message au client (obligatoire pour un refus)",
                         validators=[Length(max=2000)])


class PostForm(FlaskForm):
    """A button (logout)."""


class PauseForm(FlaskForm):
    until = DateField("Suspendre les relances jusqu'au", validators=[Optional()])


class TierForm(FlaskForm):
    """Tier, debtor category and policy; the policies are the creditor's (`with_policies`)."""
    tier = SelectField("Catégorie", choices=[SelectChoice("key", "Grand compte"),
                                             SelectChoice("standard", "Standard"),
                                             SelectChoice("risky", "À risque")])
    debtor_type = SelectField("Type de débiteur", choices=[
        SelectChoice("business", "Entreprise (pénalités L441-10)"),
        SelectChoice("consumer", "Particulier (pas d'indemnité forfaitaire)"),
        SelectChoice("public", "Acheteur public (intérêts moratoires)")])
    policy = SelectField("Politique de relance", choices=[])

    def with_policies(self, settings):
        """The policy choices, each with its delays read from its levels ("J-3, J+7, ...")."""
        self.policy.choices = [
            SelectChoice(p.name, f"{p.label or p.name} ("
                         + ", ".join(f"J{lv.offset_days:+d}" for lv in p.levels) + ")")
            for p in settings.policies.values()]
        return self


class CallOutcomeForm(FlaskForm):
    reached = SelectField("Résultat", choices=[SelectChoice("reached", "Joint"),
                                               SelectChoice("not_reached", "Pas joint")])
    promise_date = DateField("Date de paiement promise", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
