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
    tier = SelectField("Catégorie", choices=[SelectChoice("key", "Grand compte"),
                                             SelectChoice("standard", "Standard"),
                                             SelectChoice("risky", "À risque")])
    policy = SelectField("Politique de relance", choices=[
        SelectChoice("default", "Standard (J+7, J+21, J+51, J+60)"),
        SelectChoice("gentle", "Souple (J+10, J+30, J+60, J+75)")])


class CallOutcomeForm(FlaskForm):
    reached = SelectField("Résultat", choices=[SelectChoice("reached", "Joint"),
                                               SelectChoice("not_reached", "Pas joint")])
    promise_date = DateField("Date de paiement promise", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
