from __future__ import annotations

from typing import Any

from django import forms

from proactif.journeys.models import JourneyInstance

ACTIONS = [("pause", "Mettre en pause"), ("resume", "Reprendre"), ("send", "Envoyer un message maintenant"),
           ("reminder", "Programmer une relance"), ("jump", "Aller à une autre étape"), ("exit", "Arrêter le parcours")]


def channel_choices() -> list[tuple[str, str]]:
    """The person's preferred channel, or one of the channels messaging declares."""
    from proactif.kernel import capabilities

    return [("preferred", "Canal préféré de l'habitant"),
            *((code, c.label[0].upper() + c.label[1:]) for code, c in capabilities.channels(sent=True).items())]


class InstanceFilterForm(forms.Form):
    node = forms.ChoiceField(label="Étape", required=False, widget=forms.Select(attrs={"class": "fr-select"}))
    status = forms.ChoiceField(label="État", required=False, choices=[("", "Tous"), *JourneyInstance.STATUS],
                               widget=forms.Select(attrs={"class": "fr-select"}))
    person = forms.IntegerField(label="N° de fiche", required=False, min_value=1,
                                widget=forms.NumberInput(attrs={"class": "fr-input"}))

    def __init__(self, *args: Any, nodes: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["node"].choices = [("", "Toutes"), *nodes]


class TakeoverForm(forms.Form):
    action = forms.ChoiceField(label="Intervention", choices=ACTIONS, widget=forms.RadioSelect)
    reason = forms.CharField(label="Motif", max_length=500, help_text="Visible dans l'historique du parcours",
                             widget=forms.TextInput(attrs={"class": "fr-input"}))
    template = forms.ChoiceField(label="Message", required=False, widget=forms.Select(attrs={"class": "fr-select"}))
    channel = forms.ChoiceField(label="Canal", required=False, choices=channel_choices,
                                widget=forms.Select(attrs={"class": "fr-select"}))
    text = forms.CharField(label="Texte libre (modèle « message libre »)", required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"class": "fr-input", "rows": 3}))
    at = forms.DateTimeField(label="Date et heure de la relance", required=False,
                             input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                             widget=forms.DateTimeInput(attrs={"class": "fr-input", "type": "datetime-local"}))
    node = forms.ChoiceField(label="Étape", required=False, widget=forms.Select(attrs={"class": "fr-select"}))

    def __init__(self, *args: Any, nodes: list[tuple[str, str]], templates: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["node"].choices = [("", "—"), *nodes]
        self.fields["template"].choices = [("", "—"), *((t, t) for t in templates)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action in ("send", "reminder") and not data.get("template"):
            self.add_error("template", "choisissez le message à envoyer")
        if action in ("send", "reminder") and data.get("template") == "message.libre" and not data.get("text"):
            self.add_error("text", "écrivez le texte du message libre")
        if action == "reminder" and not data.get("at"):
            self.add_error("at", "indiquez quand envoyer la relance")
        if action == "jump" and not data.get("node"):
            self.add_error("node", "choisissez l'étape")
        return data


class TaskForm(forms.Form):
    note = forms.CharField(label="Compte rendu", required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"class": "fr-input", "rows": 2}))


class DefinitionForm(forms.Form):
    source = forms.CharField(label="Définition (YAML)", widget=forms.Textarea(attrs={
        "class": "fr-input proactif-code", "rows": 30, "spellcheck": "false"}))
