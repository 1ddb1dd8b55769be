from __future__ import annotations

from django import forms

from proactif.messaging.models import CHANNELS, LANES, OutboxMessage

LANGUAGES = [("fr", "Français"), ("en", "Anglais"), ("es", "Espagnol"), ("pt", "Portugais"), ("ar", "Arabe"),
             ("tr", "Turc")]


class TemplateForm(forms.Form):
    key = forms.CharField(label="Clé", max_length=100,
                          help_text="Identifiant utilisé par les parcours, par exemple titre.alerte",
                          widget=forms.TextInput(attrs={"class": "fr-input", "pattern": r"[a-z0-9_.\-]+"}))
    channel = forms.ChoiceField(label="Canal", choices=CHANNELS, widget=forms.Select(attrs={"class": "fr-select"}))
    language = forms.ChoiceField(label="Langue", choices=LANGUAGES, initial="fr",
                                 widget=forms.Select(attrs={"class": "fr-select"}))
    name = forms.CharField(label="Intitulé", max_length=200, required=False,
                           widget=forms.TextInput(attrs={"class": "fr-input"}))
    subject = forms.CharField(label="Objet (e-mail, courrier, notification)", max_length=300, required=False,
                              widget=forms.TextInput(attrs={"class": "fr-input"}))
    body = forms.CharField(label="Texte", help_text="Données disponibles entre doubles accolades : "
                           "{{ personne.prenom }}, {{ document.expire_le }}, {{ lien }}…",
                           widget=forms.Textarea(attrs={"class": "fr-input", "rows": 10}))

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if not key.replace(".", "").replace("_", "").replace("-", "").isalnum() or key != key.lower():
            raise forms.ValidationError("lettres minuscules, chiffres, points, tirets et soulignés seulement")
        return key


class PreviewForm(forms.Form):
    person_id = forms.IntegerField(label="Numéro de fiche de l'habitant", min_value=1,
                                   widget=forms.NumberInput(attrs={"class": "fr-input"}))


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(label="État", required=False, choices=[("", "Tous"), *OutboxMessage.STATUS],
                               widget=forms.Select(attrs={"class": "fr-select"}))
    channel = forms.ChoiceField(label="Canal", required=False, choices=[("", "Tous"), *CHANNELS],
                                widget=forms.Select(attrs={"class": "fr-select"}))
    lane = forms.ChoiceField(label="Priorité", required=False, choices=[("", "Toutes"), *LANES],
                             widget=forms.Select(attrs={"class": "fr-select"}))
