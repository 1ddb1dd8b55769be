"""Deadlines as pure functions: ANTS pre-application numbers, the slots of an agenda, the documents to bring,
iCalendar events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from proactif.messaging.domain import public_holidays

PRE_DEMANDE = re.compile(r"^[A-Z0-9]{10}$")


class InvalidPreDemande(ValueError):
    pass


def clean_pre_demandes(raw: str) -> list[str]:
    """ANTS pre-application numbers (10 letters or digits each, several separated by spaces or commas)."""
    numbers = [n for n in re.split(r"[\s,;]+", (raw or "").upper().replace("-", "")) if n]
    bad = [n for n in numbers if not PRE_DEMANDE.match(n)]
    if bad:
        raise InvalidPreDemande(f"numéro de pré-demande invalide « {bad[0][:20]} » : il compte 10 caractères, "
                                f"lettres et chiffres (il figure sur le récapitulatif de l'ANTS)")
    if len(numbers) != len(set(numbers)):
        raise InvalidPreDemande("le même numéro de pré-demande est saisi deux fois")
    return numbers


@dataclass(frozen=True)
class Opening:
    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    free: int  # seats left


def slots(day: date, openings: Sequence[Opening], slot_minutes: int, seats: int, booked: dict[datetime, int],
          closed: Iterable[date] = (), now: datetime | None = None, alsace_moselle: bool = False, *,
          tz: tzinfo) -> list[Slot]:
    """The slots of a day: opening hours (local time in `tz`) cut into `slot_minutes`, minus public holidays,
    closures, the past, and with the seats already booked subtracted."""
    if day in public_holidays(day.year, alsace_moselle) or day in set(closed):
        return []
    out = []
    for opening in openings:
        if opening.weekday != day.weekday():
            continue
        moment = datetime.combine(day, opening.start, tz)
        end = datetime.combine(day, opening.end, tz)
        while moment + timedelta(minutes=slot_minutes) <= end:
            if now is None or moment > now:
                free = seats - booked.get(moment.astimezone(UTC), 0)
                out.append(Slot(moment, moment + timedelta(minutes=slot_minutes), max(0, free)))
            moment += timedelta(minutes=slot_minutes)
    return out


DOCUMENTS_TO_BRING = {
    "renouvellement": [
        "votre ancien titre (carte d'identité ou passeport)",
        "une photo d'identité de moins de 6 mois, conforme aux normes",
        "un justificatif de domicile de moins d'un an (facture, avis d'imposition, attestation d'assurance)",
        "le numéro ou le récapitulatif de votre pré-demande en ligne (ANTS)",
    ],
    "premiere": [
        "un acte de naissance de moins de 3 mois si votre commune de naissance n'est pas reliée à la "
        "dématérialisation des actes",
        "une photo d'identité de moins de 6 mois, conforme aux normes",
        "un justificatif de domicile de moins d'un an",
        "un justificatif de nationalité française si votre acte de naissance ne suffit pas à la prouver",
        "le numéro ou le récapitulatif de votre pré-demande en ligne (ANTS)",
    ],
    "perte_vol": [
        "la déclaration de perte (faite en ligne ou en mairie) ou de vol (faite au commissariat ou à la "
        "gendarmerie)",
        "une autre pièce d'identité avec photo si vous en avez une (permis de conduire, carte vitale avec photo…)",
        "une photo d'identité de moins de 6 mois, conforme aux normes",
        "un justificatif de domicile de moins d'un an",
        "un timbre fiscal de 25 € pour une carte d'identité (achat en ligne sur timbres.impots.gouv.fr)",
        "le numéro ou le récapitulatif de votre pré-demande en ligne (ANTS)",
    ],
    "mineur": [
        "la présence de l'enfant et d'un parent exerçant l'autorité parentale, avec sa propre pièce d'identité",
        "l'ancien titre de l'enfant s'il en a un",
        "une photo d'identité de l'enfant de moins de 6 mois, conforme aux normes",
        "un justificatif de domicile du parent de moins d'un an",
        "en cas de séparation des parents, le jugement fixant la résidence de l'enfant",
        "le numéro ou le récapitulatif de la pré-demande en ligne (ANTS)",
    ],
}
PASSPORT_STAMP = {"adulte": "un timbre fiscal de 86 € pour un passeport (42 € de 15 à 17 ans, 17 € avant 15 ans)"}


def documents_to_bring(case: str, kinds: Sequence[str]) -> list[str]:
    items = list(DOCUMENTS_TO_BRING.get(case, DOCUMENTS_TO_BRING["renouvellement"]))
    if "passeport" in kinds:
        items.append(PASSPORT_STAMP["adulte"])
    return items


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines of at most 75 octets, continued by a space."""
    out, current = [], ""
    for ch in line:
        if len((current + ch).encode()) > 75:
            out.append(current)
            current = " " + ch
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)


def icalendar(uid: str, start: datetime, end: datetime, summary: str, location: str, description: str,
              stamp: datetime, organizer: str = "", cancelled: bool = False) -> str:
    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Proactif//Rendez-vous//FR",
             f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}", "CALSCALE:GREGORIAN", "BEGIN:VEVENT",
             f"UID:{uid}", f"DTSTAMP:{utc(stamp)}", f"DTSTART:{utc(start)}", f"DTEND:{utc(end)}",
             f"SUMMARY:{_escape(summary)}", f"LOCATION:{_escape(location)}", f"DESCRIPTION:{_escape(description)}",
             f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}"]
    if organizer:
        lines.append(f"ORGANIZER;CN={_escape(organizer)}:mailto:ne-pas-repondre@proactif.invalid")
    if not cancelled:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-P1D", f"DESCRIPTION:{_escape(summary)}", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
