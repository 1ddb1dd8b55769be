from __future__ import annotations

from django import forms

from proactif.accounts.domain import ROLE_LABELS, Role


class LoginForm(forms.Form):
    email = forms.EmailField(label="Adresse e-mail professionnelle", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "username", "class": "fr-input"}))
    password = forms.CharField(label="Mot de passe", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                                 "class": "fr-password__input fr-input"}))


class AgentForm(forms.Form):
    email = forms.EmailField(label="Adresse e-mail", widget=forms.EmailInput(attrs={"class": "fr-input"}))
    first_name = forms.CharField(label="Prénom", max_length=100, widget=forms.TextInput(attrs={"class": "fr-input"}))
    last_name = forms.CharField(label="Nom", max_length=100, widget=forms.TextInput(attrs={"class": "fr-input"}))
    service = forms.ChoiceField(label="Service", widget=forms.Select(attrs={"class": "fr-select"}))
    role = forms.ChoiceField(label="Rôle", choices=[(r.value, ROLE_LABELS[r]) for r in Role],
                             widget=forms.Select(attrs={"class": "fr-select"}))

    def __init__(self, *args: object, services: list[tuple[str, str]], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["service"].choices = [("", "— aucun —"), *services]


class ApiKeyForm(forms.Form):
    name = forms.CharField(label="Nom du client (logiciel, prestataire)", max_length=200,
                           widget=forms.TextInput(attrs={"class": "fr-input"}))
    service = forms.ChoiceField(label="Service", widget=forms.Select(attrs={"class": "fr-select"}))
    kind = forms.ChoiceField(label="Type", choices=[("test", "Test"), ("live", "Production")],
                             widget=forms.Select(attrs={"class": "fr-select"}))
    scopes = forms.MultipleChoiceField(label="Portées", widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.IntegerField(label="Expire dans (jours, facultatif)", required=False, min_value=1,
                                         max_value=3650, widget=forms.NumberInput(attrs={"class": "fr-input"}))

    def __init__(self, *args: object, services: list[tuple[str, str]], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["service"].choices = services
        from proactif.accounts import services as accounts

        self.fields["scopes"].choices = list(accounts.scope_labels().items())
