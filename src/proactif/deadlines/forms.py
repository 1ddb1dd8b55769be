from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms

from proactif.deadlines import domain
from proactif.deadlines.models import Appointment

KINDS = [("passeport", "Passeport"), ("cni", "Carte nationale d'identité")]


class BookingForm(forms.Form):
    """The citizen's (or the agent's, on the phone) request: what for, which titles, the ANTS
    pre-application numbers, and the slot."""

    case = forms.ChoiceField(label="Votre demande", choices=Appointment.CASES, initial="renouvellement",
                             widget=forms.RadioSelect)
    kinds = forms.MultipleChoiceField(label="Titre(s) demandé(s)", choices=KINDS, widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": "cochez au moins un titre"})
    pre_demandes = forms.CharField(
        label="Numéro de pré-demande ANTS", max_length=50, required=True,
        help_text="10 lettres et chiffres, sur le récapitulatif de votre pré-demande faite sur ants.gouv.fr ; "
                  "deux numéros séparés par une virgule si vous demandez deux titres",
        widget=forms.TextInput(attrs={"class": "fr-input", "autocomplete": "off", "spellcheck": "false"}))
    slot = forms.ChoiceField(label="Créneau", widget=forms.RadioSelect,
                             error_messages={"required": "choisissez un créneau",
                                             "invalid_choice": "ce créneau n'est plus libre : choisissez-en un autre"})

    def __init__(self, *args: Any, slots: list[domain.Slot], pre_demande_required: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [(s.starts_at.isoformat(), s.starts_at.strftime("%Hh%M")) for s in slots
                                       if s.free]
        self.fields["pre_demandes"].required = pre_demande_required
        if not pre_demande_required:
            self.fields["pre_demandes"].help_text += " (facultatif au guichet : l'habitant peut remplir le formulaire "\
                                                     "papier)"

    def clean_pre_demandes(self) -> list[str]:
        try:
            return domain.clean_pre_demandes(self.cleaned_data.get("pre_demandes", ""))
        except domain.InvalidPreDemande as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if len(data.get("pre_demandes") or []) > len(data.get("kinds") or ["x"]):
            self.add_error("pre_demandes", "un numéro de pré-demande par titre demandé, au plus")
        return data

    def starts_at(self) -> datetime:
        return datetime.fromisoformat(self.cleaned_data["slot"])


class CounterForm(forms.Form):
    name = forms.CharField(label="Nom du guichet", max_length=200, widget=forms.TextInput(attrs={"class": "fr-input"}))
    address = forms.CharField(label="Adresse", max_length=300, widget=forms.TextInput(attrs={"class": "fr-input"}))
    slot_minutes = forms.IntegerField(label="Durée d'un rendez-vous (minutes)", min_value=5, max_value=240,
                                      widget=forms.NumberInput(attrs={"class": "fr-input"}))
    seats = forms.IntegerField(label="Rendez-vous simultanés (stations, agents)", min_value=1, max_value=20,
                               widget=forms.NumberInput(attrs={"class": "fr-input"}))
    hours = forms.CharField(
        label="Horaires d'ouverture", widget=forms.Textarea(attrs={"class": "fr-input", "rows": 7}),
        help_text="Une ligne par jour : « lundi 08:30-12:00, 13:30-17:00 ». Un jour absent est fermé.")

    def clean_hours(self) -> list[tuple[int, time, time]]:
        try:
            return parse_hours(self.cleaned_data["hours"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class ClosureForm(forms.Form):
    day = forms.DateField(label="Jour de fermeture",
                          widget=forms.DateInput(attrs={"class": "fr-input", "type": "date"}))
    reason = forms.CharField(label="Motif", max_length=200, required=False,
                             widget=forms.TextInput(attrs={"class": "fr-input"}))


class StatusFileForm(forms.Form):
    file = forms.FileField(label="Fichier de suivi des titres (CSV)",
                           help_text="Colonnes pre_demande;statut — statut « pret » ou « remis »",
                           widget=forms.ClearableFileInput(attrs={"class": "fr-upload", "accept": ".csv,text/csv"}))


WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def parse_hours(text: str) -> list[tuple[int, time, time]]:
    """`lundi 08:30-12:00, 13:30-17:00` per line → (weekday, start, end), checked."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        day, _, ranges = line.partition(" ")
        if day.lower() not in WEEKDAYS:
            raise ValueError(f"ligne {number} : jour inconnu « {day} » (lundi … dimanche)")
        for part in ranges.split(","):
            try:
                start_text, end_text = (p.strip() for p in part.split("-"))
                start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
            except ValueError:
                raise ValueError(f"ligne {number} : horaires illisibles « {part.strip()} » (HH:MM-HH:MM)") from None
            if start >= end:
                raise ValueError(f"ligne {number} : {part.strip()} finit avant de commencer")
            out.append((WEEKDAYS.index(day.lower()), start, end))
    if not out:
        raise ValueError("indiquez au moins une plage d'ouverture")
    return out


def format_hours(hours: list[tuple[int, time, time]]) -> str:
    by_day: dict[int, list[str]] = {}
    for weekday, start, end in hours:
        by_day.setdefault(weekday, []).append(f"{start:%H:%M}-{end:%H:%M}")
    return "\n".join(f"{WEEKDAYS[d]} {', '.join(r)}" for d, r in sorted(by_day.items()))
