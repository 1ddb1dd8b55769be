from __future__ import annotations

from django import forms

from proactif.kernel import capabilities
from proactif.registry import domain


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label="Finalité", choices=[(p.code, p.label) for p in domain.consent_purposes()],
                                widget=forms.Select(attrs={"class": "fr-select"}))
    channel = forms.ChoiceField(label="Canal", choices=lambda: [("*", "Tous les canaux"), *(
        (code, c.label[0].upper() + c.label[1:]) for code, c in capabilities.channels().items())],
                                widget=forms.Select(attrs={"class": "fr-select"}))  # the declared channels
    decision = forms.ChoiceField(label="Décision", choices=[("granted", "Accord"), ("denied", "Refus"),
                                                            ("revoked", "Retrait")],
                                 widget=forms.Select(attrs={"class": "fr-select"}))
    text_version = forms.CharField(label="Version du texte présenté", max_length=30, initial="2024-06",
                                   widget=forms.TextInput(attrs={"class": "fr-input"}))
    support = forms.ChoiceField(label="Recueilli par", choices=[("formulaire papier", "Formulaire papier signé"),
                                                                 ("oral au guichet", "Déclaration au guichet"),
                                                                 ("téléphone", "Téléphone")],
                                widget=forms.Select(attrs={"class": "fr-select"}))


class MergeForm(forms.Form):
    survivor = forms.TypedChoiceField(label="Fiche à conserver", coerce=int, widget=forms.RadioSelect)
    reason = forms.CharField(label="Motif (vérification effectuée)", max_length=500,
                             widget=forms.TextInput(attrs={"class": "fr-input"}))

    def __init__(self, *args: object, pair: tuple[int, int], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["survivor"].choices = [(pair[0], f"Fiche n° {pair[0]}"), (pair[1], f"Fiche n° {pair[1]}")]


# The sample file of each kind the page imports, by the name its address gives it (exemple-habitants.csv)
SAMPLE_FILES = {"addresses": "adresses", "residents": "habitants", "documents": "titres"}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label="Contenu du fichier", choices=[
        ("addresses", "Adresses (BAL 1.3, BAN ou CSV Proactif)"), ("residents", "Habitants"),
        ("documents", "Titres et documents")], widget=forms.Select(attrs={"class": "fr-select"}))
    file = forms.FileField(label="Fichier CSV", help_text="UTF-8 ou Windows-1252, séparateur ; , ou tabulation",
                           widget=forms.ClearableFileInput(attrs={"class": "fr-upload", "accept": ".csv,text/csv"}))
