"""The register of vulnerable people and the heatwave and cold-wave plans, as pure rules (no Django, no I/O).

The law is the Code de l'action sociale et des familles (CASF): art. L121-6-1 (the register, kept by the mayor
for the alert and emergency plan of art. L116-3) and art. R121-2 to R121-12 (who may be registered, what the
register holds, how a request is made and withdrawn, who reads it, the transmission to the préfet). Which rule
comes from which article, and which are the product's choices, is written in `docs/watch.md`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from proactif.watch import vigilance

PURPOSE = "prevention_sante"  # the access purpose: the register opens under it only (not under action sociale)
COMMUNICATION = "veille_sante"  # the communication purpose of its messages: its basis is the register
SERVICE = "ccas"  # the service the register's messages and tasks belong to

# --- who may be registered (R121-3 CASF) ---------------------------------------------------------------------
QUALITES = {
    "age_65": "Personne âgée de 65 ans et plus",
    "inapte_60": "Personne de plus de 60 ans reconnue inapte au travail",
    "handicap": "Personne adulte handicapée",
}
# What makes an adult "handicapée" under R121-3 3°: the benefits and recognitions the article lists
HANDICAP_TITRES = {
    "aah": "allocation aux adultes handicapés (AAH)",
    "actp": "allocation compensatrice pour tierce personne (ACTP)",
    "pch": "prestation de compensation du handicap (PCH)",
    "cmi": "carte mobilité inclusion mention invalidité",
    "rqth": "reconnaissance de la qualité de travailleur handicapé (RQTH)",
    "pension_invalidite": "pension d'invalidité",
}
ADULT_AGE = 18


@dataclass(frozen=True)
class Applicant:
    """What the registry and the request say about the person to register."""

    born: date | None
    living_at_home: bool  # "résidant à leur domicile": not in an establishment (EHPAD, hospital)
    active: bool  # a resident of the commune (not moved out, not deceased)
    unfit_for_work: bool = False  # "reconnue inapte au travail" (declared)
    handicap: tuple[str, ...] = ()  # keys of HANDICAP_TITRES held (registry benefits, or declared)


class NotEligible(ValueError):
    """The person may not be registered: the message says why, citing the article."""


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def eligible_qualites(applicant: Applicant, today: date) -> list[str]:
    """The qualities under which the person may be registered (R121-3), best first; [] when none."""
    if not applicant.active or not applicant.living_at_home:
        return []
    age = age_on(applicant.born, today) if applicant.born else None
    out = []
    if age is not None and age >= 65:
        out.append("age_65")
    if age is not None and age > 60 and applicant.unfit_for_work:
        out.append("inapte_60")
    if (age is None or age >= ADULT_AGE) and any(t in HANDICAP_TITRES for t in applicant.handicap):
        out.append("handicap")
    return out


def check_eligible(applicant: Applicant, qualite: str, today: date) -> None:
    """Raise NotEligible with the reason when the person may not be registered under `qualite` (R121-3)."""
    if qualite not in QUALITES:
        raise NotEligible(f"qualité d'inscription inconnue : {qualite} ({', '.join(QUALITES)})")
    if not applicant.active:
        raise NotEligible("la personne n'habite plus la commune ou est décédée")
    if not applicant.living_at_home:
        raise NotEligible("seules les personnes résidant à leur domicile peuvent être inscrites (art. R121-3 CASF)")
    if qualite not in eligible_qualites(applicant, today):
        reasons = {
            "age_65": "la personne n'a pas 65 ans (art. R121-3 1° CASF)",
            "inapte_60": "la personne n'a pas plus de 60 ans ou n'est pas reconnue inapte au travail "
                         "(art. R121-3 2° CASF)",
            "handicap": "aucune des reconnaissances de handicap de l'art. R121-3 3° CASF n'est connue "
                        "(AAH, ACTP, PCH, carte mobilité inclusion, RQTH, pension d'invalidité)",
        }
        raise NotEligible(reasons[qualite])


# --- requests, acknowledgement, removal (R121-6, R121-11 CASF; RGPD art. 12-3) --------------------------------
DEMANDEURS = {
    "personne": "la personne elle-même",
    "representant": "son représentant légal",
    "tiers": "un tiers (proche, médecin traitant, service d'aide ou de soins à domicile)",
    "transmission": "une transmission du département ou d'une caisse (loi 2024-317, art. L121-6-1 CASF)",
    "consentement": "le consentement « veille santé » recueilli avant la tenue du registre",
}
TIERS_QUALITES = {
    "proche": "Proche", "medecin": "Médecin traitant", "service_domicile": "Service d'aide ou de soins à domicile",
    "travailleur_social": "Travailleur social", "autre": "Autre",
}
TRANSMISSIONS = {
    "apa": "Département — allocation personnalisée d'autonomie à domicile",
    "pch": "Département — prestation de compensation du handicap",
    "carsat": "Caisse de retraite (CARSAT) — action sociale en faveur de l'autonomie",
}
ACK_DAYS = 8  # the acknowledgement of a request (décret 2004-926, codified at R121-6; docs/watch.md)
REGISTER_SINCE = date(2004, 6, 30)  # loi 2004-626 created the register: no request is older
REMOVAL_DAYS = 31  # a removal is carried out within a month (RGPD art. 12-3)
CONFIRM_MONTHS = 12  # a yearly confirmation before the summer (product choice)
REMOVAL_REASONS = {
    "demande": "à la demande de la personne",
    "opposition": "opposition de la personne à une inscription demandée par un tiers ou transmise",
    "demenagement": "départ de la commune",
    "deces": "décès",
    "etablissement": "entrée en établissement",
    "doublon": "inscription en double",
}


EVENT_LABELS = {
    "inscription": "Inscription", "accuse_reception": "Accusé de réception envoyé",
    "confirmation": "Confirmation annuelle",
    "besoins": "Besoins particuliers enregistrés", "besoins_supprimes": "Besoins particuliers supprimés",
    "opposition": "Opposition à l'inscription", "radiation": "Radiation",
}


def contact_channel(telephone: str, email: str) -> tuple[str, str] | None:
    """How a referent or a person to warn is messaged: SMS on a mobile, else e-mail, else not at all (a landline
    is for the agents to dial)."""
    from proactif.registry.domain import FieldError, normalise_phone

    try:
        phone = normalise_phone("telephone", telephone) if telephone else None
    except FieldError:
        phone = None
    if phone is not None and phone.is_mobile:
        return "sms", phone.e164
    return ("email", email) if email else None


def first_name_initial(prenoms: str, nom: str) -> str:
    """« Jeanne M. »: what a referent's page shows of the person (first given name, initial of the name)."""
    first = prenoms.strip().split()[0] if prenoms.strip() else ""
    initial = f"{nom.strip()[0].upper()}." if nom.strip() else ""
    return " ".join(part for part in (first.capitalize(), initial) if part) or "la personne"


def ack_due(requested_on: date) -> date:
    return requested_on + timedelta(days=ACK_DAYS)


def removal_due(asked_on: date) -> date:
    return asked_on + timedelta(days=REMOVAL_DAYS)


def confirmation_due(last: date) -> date:
    """A year after the last confirmation (or the enrolment)."""
    try:
        return last.replace(year=last.year + 1)
    except ValueError:  # 29 February
        return last.replace(year=last.year + 1, day=28)


# --- the préfet's file (R121-8 CASF): exactly the register's fields (R121-4 CASF) ------------------------------
PREFET_FIELDS = (
    ("nom", "Nom"), ("prenoms", "Prénoms"), ("date_naissance", "Date de naissance"),
    ("qualite", "Qualité au titre de laquelle la personne est inscrite"), ("adresse", "Adresse"),
    ("telephone", "Numéro de téléphone"), ("service_domicile", "Service intervenant à domicile"),
    ("personne_a_prevenir", "Personne à prévenir en cas d'urgence"), ("date_demande", "Date de la demande"),
    ("tiers_demandeur", "Nom et qualité du tiers ayant demandé l'inscription"),
)


# --- Météo-France vigilance and the plan ---------------------------------------------------------------------
PHENOMENES = {"canicule": "Canicule", "grand_froid": "Grand froid"}
COULEURS = {1: "vert", 2: "jaune", 3: "orange", 4: "rouge"}
NIVEAUX = {"vert": 1, "jaune": 2, "orange": 3, "rouge": 4}
# What the plan does at each vigilance colour: the préfet triggers the ORSEC plan « gestion sanitaire des vagues de
# chaleur » (orange: alerte canicule, red: alerte canicule extrême); yellow prepares (docs/watch.md)
PLAN_STATES = {1: "veille", 2: "preparation", 3: "alerte", 4: "mobilisation"}
PLAN_LABELS = {"veille": "Veille saisonnière", "preparation": "Listes d'appels préparées",
               "alerte": "Campagne d'appels", "mobilisation": "Mobilisation maximale", "terminee": "Plan levé"}
CAMPAIGN_LEVEL = 3  # orange and red start the campaign


def level_of(text: str | int) -> int:
    """'orange', 'ORANGE', '3' or 3 → 3; anything else raises ValueError with the accepted values."""
    if isinstance(text, int) and text in COULEURS:
        return text
    value = str(text).strip().lower()
    if value.isdigit() and int(value) in COULEURS:
        return int(value)
    if value in NIVEAUX:
        return NIVEAUX[value]
    raise ValueError(f"niveau de vigilance inconnu : « {text} » (vert, jaune, orange, rouge ou 1 à 4)")


def departement_code(text: str) -> str:
    """'75', '2a', '971', '1' → a normalised code ('01'); anything else raises ValueError."""
    code = vigilance.departement_code(str(text))
    if code is None:
        raise ValueError(f"département inconnu : « {text} » (01 à 95, 2A, 2B, 971 à 976)")
    return code


def plan_state(level: int) -> str:
    return PLAN_STATES[level]


# --- the daily round: who first -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Situation:
    """What orders the day's contacts."""

    lives_alone: bool | None
    no_family_nearby: bool
    needs: bool  # "besoins particuliers" recorded
    last_outcome: str  # the previous round's: "" (none), "ok", "besoin_aide", "injoignable"
    reachable_by_sms: bool
    age: int | None


PRIORITY_REASONS = {
    "besoin_aide": "avait besoin d'aide au dernier contact",
    "injoignable": "injoignable au dernier contact",
    "besoins": "besoins particuliers",
    "seul": "seule au domicile",
    "sans_famille": "pas de proche à proximité",
    "grand_age": "85 ans et plus",
    "sans_sms": "pas de téléphone mobile : appel nécessaire",
    "tardif": "plan déclenché en fin de journée : appel direct, SMS demain",
}
_WEIGHTS = {"besoin_aide": 50, "injoignable": 40, "besoins": 20, "seul": 15, "sans_famille": 10, "grand_age": 5,
            "sans_sms": 1}


def priority(situation: Situation) -> tuple[int, list[str]]:
    """A score (higher: contacted first) and its reasons, in the order an agent reads them."""
    reasons = []
    if situation.last_outcome == "besoin_aide":
        reasons.append("besoin_aide")
    if situation.last_outcome == "injoignable":
        reasons.append("injoignable")
    if situation.needs:
        reasons.append("besoins")
    if situation.lives_alone:
        reasons.append("seul")
    if situation.no_family_nearby:
        reasons.append("sans_famille")
    if situation.age is not None and situation.age >= 85:
        reasons.append("grand_age")
    if not situation.reachable_by_sms:
        reasons.append("sans_sms")
    return sum(_WEIGHTS[r] for r in reasons), reasons


def call_first(situation: Situation) -> bool:
    """Called by an agent from the start of the round, not after an unanswered SMS: no mobile, or a priority
    reason that an SMS cannot settle."""
    _, reasons = priority(situation)
    return any(r in ("besoin_aide", "injoignable", "besoins", "sans_sms") for r in reasons)


# --- the check-in's answers -----------------------------------------------------------------------------------
ANSWERS = {"ok": "Tout va bien", "besoin_aide": "Besoin d'aide", "injoignable": "Injoignable"}
STATES = {"a_contacter": "À contacter", "contacte": "Contacté, sans réponse", "ok": "Tout va bien",
          "besoin_aide": "Besoin d'aide", "injoignable": "Injoignable"}
# Call outcomes an agent records, and what each makes of the day's check-in
CALL_OUTCOMES = {
    "ok": ("Joint : tout va bien", "ok"),
    "besoin_aide": ("Joint : besoin d'aide", "besoin_aide"),
    "pas_de_reponse": ("Pas de réponse", ""),
    "messagerie": ("Messagerie : message laissé", ""),
    "faux_numero": ("Numéro erroné ou hors service", ""),
    "absent_prevu": ("Absent (vacances, chez un proche)", "ok"),
    "hospitalise": ("Hospitalisé", "ok"),
    "visite_ok": ("Visite à domicile : tout va bien", "ok"),
    "visite_aide": ("Visite à domicile : besoin d'aide", "besoin_aide"),
    "secours": ("Secours appelés (15, 18 ou 112)", "besoin_aide"),
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_OK_WORDS = {"1", "ok", "oui", "bien", "ca va", "tout va bien", "va bien"}
_HELP_WORDS = {"2", "aide", "besoin", "besoin d'aide", "help", "urgent", "secours"}


def reply_answer(text: str) -> str | None:
    """A reply to the check-in SMS: « 1 » (or « ok », « tout va bien ») → "ok", « 2 » (or « aide ») →
    "besoin_aide", anything else → None (an agent reads it). « 2 » wins over « 1 » when both appear."""
    words = re.sub(r"[^a-z0-9' ]+", " ", _fold(text)).split()
    if not words:
        return None
    joined = " ".join(words)
    if words[0] == "2" or any(w in _HELP_WORDS for w in words) or "besoin d'aide" in joined:
        return "besoin_aide"
    if words[0] == "1" or joined in _OK_WORDS or any(w in ("ok", "oui") for w in words):
        return "ok"
    return None


def day_state(answer: str, attempts: int, escalated: bool) -> str:
    """The check-in's state: the answer when there is one; else unreachable once the no-answer path went past
    the retry, contacted after a first attempt, to contact before."""
    if answer:
        return answer
    if escalated:
        return "injoignable"
    return "contacte" if attempts else "a_contacter"


def board_order(states: Iterable[tuple[str, int]]) -> list[int]:
    """Indexes of (state, priority) pairs, needs-help first, then unreachable, then by priority."""
    rank = {"besoin_aide": 0, "injoignable": 1, "contacte": 2, "a_contacter": 3, "ok": 4}
    items = list(states)
    return sorted(range(len(items)), key=lambda i: (rank.get(items[i][0], 5), -items[i][1]))
