"""Registry rules as pure functions: field validation and normalisation, document validity,
consent resolution. No Django, no I/O — every function is testable on plain values."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir as stdnum_nir

from proactif.kernel.text import search_key


class FieldError(ValueError):
    """A value that cannot be accepted, with the field it belongs to and a French reason."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# --- dates ----------------------------------------------------------------------------------
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d")


def parse_date(field: str, raw: str, *, required: bool = False) -> date | None:
    value = (raw or "").strip()
    if not value:
        if required:
            raise FieldError(field, "date obligatoire")
        return None
    value = value[:10] if re.match(r"^\d{4}-\d{2}-\d{2}T", value) else value
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
    raise FieldError(field, f"date invalide « {value[:20]} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)")


def parse_month(field: str, raw: str) -> date:
    """A month as AAAA-MM or MM/AAAA (or a date: its month), as the first day of that month."""
    value = (raw or "").strip()
    match = re.match(r"^(\d{4})-(\d{1,2})$", value) or re.match(r"^(\d{1,2})/(\d{4})$", value)
    if match:
        year, month = (int(match.group(1)), int(match.group(2))) if "-" in value else (
            int(match.group(2)), int(match.group(1)))
        if 1 <= month <= 12 and 1900 <= year <= 2200:
            return date(year, month, 1)
        raise FieldError(field, f"mois invalide « {value[:20]} »")
    if not value:
        raise FieldError(field, "mois obligatoire (AAAA-MM)")
    day = parse_date(field, value)
    assert day is not None
    return day.replace(day=1)


def parse_amount(field: str, raw: str, *, maximum: float = 1_000_000) -> Decimal:
    """A non-negative amount in euros: « 1234.56 », « 1 234,56 », « 1234,5 € »."""
    value = (raw or "").strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace("€", "")
    if not value:
        raise FieldError(field, "montant obligatoire")
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise FieldError(field, f"montant invalide « {raw.strip()[:20]} » (ex. 1234,56)") from None
    if not amount.is_finite() or amount < 0 or amount > maximum:
        raise FieldError(field, f"montant hors limites « {raw.strip()[:20]} » (0 à {maximum:,.0f} €)")
    return amount.quantize(Decimal("0.01"))


def parse_birth_date(field: str, raw: str, today: date) -> date | None:
    born = parse_date(field, raw)
    if born is not None and (born > today or born.year < today.year - 125):
        raise FieldError(field, f"date de naissance impossible « {born.isoformat()} »")
    return born


# --- identity -------------------------------------------------------------------------------
_SEXE = {"f": "F", "femme": "F", "feminin": "F", "féminin": "F", "2": "F",
         "m": "M", "h": "M", "homme": "M", "masculin": "M", "1": "M"}


def parse_sexe(field: str, raw: str) -> str:
    value = _SEXE.get((raw or "").strip().lower())
    if value is None:
        raise FieldError(field, f"sexe invalide « {(raw or '')[:10]} » (attendu F ou M)")
    return value


def clean_name(field: str, raw: str, *, required: bool = True, max_length: int = 100) -> str:
    value = " ".join((raw or "").split())
    if not value:
        if required:
            raise FieldError(field, "obligatoire")
        return ""
    if len(value) > max_length:
        raise FieldError(field, f"trop long ({len(value)} caractères, {max_length} au plus)")
    if not search_key(value):
        raise FieldError(field, f"ne contient aucune lettre « {value[:20]} »")
    if any(ch.isdigit() for ch in value):
        raise FieldError(field, f"contient des chiffres « {value[:30]} »")
    return value


def clean_prenoms(field: str, raw: str) -> str:
    """Prénoms are stored space-separated, in order (the identité pivot keeps all of them)."""
    parts = [p for p in re.split(r"[,\s]+", (raw or "").strip()) if p]
    return clean_name(field, " ".join(parts), max_length=200)


def normalise_nir(field: str, raw: str, *, sexe: str | None = None, born: date | None = None) -> str | None:
    """The NIR (numéro de sécurité sociale), 15 characters, checked with its key and against the identity."""
    value = re.sub(r"[\s.\-]", "", raw or "").upper()
    if not value:
        return None
    try:
        value = stdnum_nir.validate(value)
    except StdnumError as exc:
        raise FieldError(field, f"NIR invalide ({exc})") from None
    if sexe is not None and value[0] in "12" and {"1": "M", "2": "F"}[value[0]] != sexe:
        raise FieldError(field, "le NIR ne correspond pas au sexe")
    if born is not None and int(value[1:3]) != born.year % 100:
        raise FieldError(field, "le NIR ne correspond pas à l'année de naissance")
    return str(value)


def nir_with_key(first13: str) -> str:
    return first13 + str(stdnum_nir.calc_check_digits(first13))


def code_insee(field: str, raw: str, *, required: bool = False) -> str:
    value = (raw or "").strip().upper()
    if not value:
        if required:
            raise FieldError(field, "code INSEE obligatoire")
        return ""
    if not re.fullmatch(r"(\d{5}|2[AB]\d{3})", value):
        raise FieldError(field, f"code INSEE invalide « {value[:10]} » (5 caractères)")
    return value


# --- contacts -------------------------------------------------------------------------------
def normalise_email(field: str, raw: str) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise FieldError(field, f"adresse e-mail invalide « {value[:60]} » ({_email_reason(str(exc))})") from None
    return f"{result.local_part}@{result.domain.lower()}"


_EMAIL_REASONS = (("must have an @-sign", "il manque le @"), ("something after the @", "rien après le @"),
                  ("something before the @", "rien avant le @"), ("should have a period", "domaine incomplet"),
                  ("period", "point mal placé"),
                  ("not valid", "domaine invalide"), ("characters", "caractère interdit"),
                  ("too long", "trop longue"))


def _email_reason(message: str) -> str:
    return next((french for english, french in _EMAIL_REASONS if english in message), "format incorrect")


@dataclass(frozen=True)
class Phone:
    e164: str
    is_mobile: bool


def normalise_phone(field: str, raw: str, region: str = "FR") -> Phone | None:
    value = (raw or "").strip()
    if not value:
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise FieldError(field, f"numéro de téléphone illisible « {value[:30]} »") from None
    if not phonenumbers.is_valid_number(parsed):
        raise FieldError(field, f"numéro de téléphone invalide « {value[:30]} »")
    kind = phonenumbers.number_type(parsed)
    mobile = kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return Phone(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), mobile)


def format_phone_national(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def clean_postal_address(field: str, raw: str) -> str | None:
    """A mailing address other than the home address, lines separated by "|" (norme NF Z10-011:
    six lines at most, 38 characters each)."""
    lines = [" ".join(line.split()) for line in (raw or "").replace("\n", "|").split("|")]
    lines = [line for line in lines if line]
    if not lines:
        return None
    if len(lines) > 6:
        raise FieldError(field, f"adresse postale de {len(lines)} lignes (6 au plus)")
    long_line = next((line for line in lines if len(line) > 38), None)
    if long_line:
        raise FieldError(field, f"ligne d'adresse de plus de 38 caractères « {long_line[:40]} »")
    return "\n".join(line.upper() for line in lines)


def parse_channels(field: str, raw: str, channels: Collection[str]) -> list[str]:
    """An ordered channel preference list: 'sms>email>letter' or 'sms,email', among the declared `channels`."""
    items = [c.strip().lower() for c in re.split(r"[>,|/ ]+", raw or "") if c.strip()]
    aliases = {"courrier": "letter", "mail": "email", "e-mail": "email", "notification": "push",
               "telephone": "phone", "téléphone": "phone"}
    items = [aliases.get(c, c) for c in items]
    unknown = [c for c in items if c not in channels]
    if unknown:
        raise FieldError(field, f"canal inconnu « {unknown[0]} » (canaux : {', '.join(channels)})")
    return list(dict.fromkeys(items))


# --- addresses ------------------------------------------------------------------------------
_CLE_INTEROP = re.compile(r"^(\d{5}|2[ab]\d{3})_[0-9a-z]{4,}_\d{5}(_[0-9a-z]+)?$")


def clean_cle_interop(field: str, raw: str) -> str:
    value = (raw or "").strip().lower()
    if not _CLE_INTEROP.match(value):
        raise FieldError(field, f"clé d'interopérabilité invalide « {value[:40]} » (INSEE_voie_numéro)")
    return value


def parse_numero(field: str, raw: str) -> int | None:
    value = (raw or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > 99999:
        raise FieldError(field, f"numéro invalide « {value[:10]} »")
    number = int(value)
    return None if number == 99999 else number  # BAL: 99999 marks a toponym without a number


def parse_coordinate(field: str, raw: str, low: float, high: float) -> float | None:
    value = (raw or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise FieldError(field, f"coordonnée invalide « {value[:20]} »") from None
    if not low <= number <= high:
        raise FieldError(field, f"coordonnée hors limites « {value[:20]} »")
    return number


# --- documents ------------------------------------------------------------------------------
DOCUMENT_KINDS = ("cni", "passeport", "titre_sejour", "permis_conduire", "carte_piscine",
                  "permis_stationnement", "carte_bibliotheque", "autre")
DOCUMENT_STATUSES = ("valide", "expire", "en_renouvellement", "perdu", "vole", "annule")
# The kinds whose name is feminine (« carte d'identité », « carte de stationnement »): messages agree with it
FEMININE_DOCUMENTS = frozenset({"cni", "permis_stationnement", "carte_bibliotheque"})
AGREEMENT_FIELDS = ("genre", "le", "il", "Il", "e")


def agreement(kind: str) -> dict[str, str]:
    """What a message needs to agree with a document's name: its gender, the object and subject pronouns standing
    for it (« venez la retirer », « elle expire ») and the ending of a participle or adjective (« prête »)."""
    feminine = kind in FEMININE_DOCUMENTS
    return {"genre": "f" if feminine else "m", "le": "la" if feminine else "le", "il": "elle" if feminine else "il",
            "Il": "Elle" if feminine else "Il", "e": "e" if feminine else ""}
CNIE_SINCE = date(2021, 8, 2)  # the electronic identity card (10-year validity)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def document_validity_years(kind: str, issued_on: date, born: date | None) -> int | None:
    """Legal validity of French identity documents.

    Passport: 10 years, 5 for a minor. CNI: 10 years for a minor; for an adult, 15 years when issued
    from 2004-01-02 to 2021-08-01 (décret 2013-1188 extended the 2004–2013 cards and set 15 years
    from 2014), 10 years for the electronic card issued since 2021-08-02.
    """
    minor = born is not None and age_on(born, issued_on) < 18
    if kind == "passeport":
        return 5 if minor else 10
    if kind == "cni":
        if minor or issued_on >= CNIE_SINCE or issued_on < date(2004, 1, 2):
            return 10
        return 15
    return None


def default_expiry(kind: str, issued_on: date | None, born: date | None) -> date | None:
    if issued_on is None:
        return None
    years = document_validity_years(kind, issued_on, born)
    if years is None:
        return None
    # A title issued on 15/03/2020 for 10 years expires on 14/03/2030.
    return add_years(issued_on, years) - timedelta(days=1)


def check_document_number(field: str, kind: str, raw: str) -> str:
    value = re.sub(r"\s", "", raw or "").upper()
    if not value:
        return ""
    if kind == "passeport" and not re.fullmatch(r"\d{2}[A-Z]{2}\d{5}", value):
        raise FieldError(field, f"numéro de passeport invalide « {value[:20]} » (2 chiffres, 2 lettres, 5 chiffres)")
    if kind == "cni" and not re.fullmatch(r"[A-Z0-9]{9}|\d{12}", value):
        raise FieldError(field, f"numéro de CNI invalide « {value[:20]} » (9 caractères, ou 12 chiffres avant 2021)")
    if len(value) > 30:
        raise FieldError(field, "numéro trop long")
    return value


def document_status_on(status: str, expires_on: date | None, day: date) -> str:
    """A valid document past its expiry date is expired; other statuses are decided by people."""
    if status == "valide" and expires_on is not None and expires_on < day:
        return "expire"
    return status


# --- consents and oppositions ---------------------------------------------------------------
ConsentRule = Literal["opt_in", "opt_out", "declared"]


@dataclass(frozen=True)
class CommunicationPurpose:
    code: str
    label: str
    # opt_in: needs a granted consent; opt_out: allowed unless refused; declared: only to the persons a
    # capability's declared basis holds (`kernel.capabilities.ContactBasis`: a register), never against an
    # opposition or a refusal — a consent recorded for it is no basis, so none is offered to agents
    rule: ConsentRule
    basis: str


COMMUNICATION_PURPOSES: dict[str, CommunicationPurpose] = {p.code: p for p in [
    CommunicationPurpose("rappels_echeances", "Rappels d'échéance (titres, abonnements)", "opt_out",
                         "Mission de service public ; la personne peut s'y opposer"),
    CommunicationPurpose("alertes", "Alertes et informations de sécurité", "opt_out",
                         "Mission d'intérêt public (sécurité civile)"),
    CommunicationPurpose("droits", "Information sur des droits possibles", "opt_out",
                         "Art. L114-8 II CRPA : droit de refuser (CNIL délibération 2022-101)"),
    CommunicationPurpose("information", "Lettre d'information et actualités de la ville", "opt_in",
                         "Consentement (RGPD art. 6-1-a)"),
    CommunicationPurpose("personnalisation", "Personnalisation du site de la ville", "opt_in",
                         "Consentement (RGPD art. 6-1-a, lignes directrices CNIL)"),
    CommunicationPurpose("veille_sante", "Veille des personnes vulnérables (canicule, grand froid)", "declared",
                         "Inscription au registre des personnes vulnérables (art. L121-6-1 et R121-2 et suivants "
                         "CASF)"),
]}


def consent_purposes() -> list[CommunicationPurpose]:
    """The purposes a person's consent or refusal may be recorded for: not those whose basis a capability holds."""
    return [p for p in COMMUNICATION_PURPOSES.values() if p.rule != "declared"]


@dataclass(frozen=True)
class ConsentEvent:
    purpose: str
    channel: str
    decision: str
    recorded_at: datetime


@dataclass(frozen=True)
class OptOutRule:
    purpose: str
    channel: str


def current_decisions(events: Iterable[ConsentEvent]) -> dict[tuple[str, str], str]:
    """The latest decision for each (purpose, channel)."""
    latest: dict[tuple[str, str], ConsentEvent] = {}
    for event in events:
        key = (event.purpose, event.channel)
        if key not in latest or event.recorded_at >= latest[key].recorded_at:
            latest[key] = event
    return {key: event.decision for key, event in latest.items()}


def opposed(purpose: str, channel: str, opt_outs: Iterable[OptOutRule]) -> bool:
    """Whether an opposition in force covers a message of `purpose` on `channel` (one naming it or "*" for both)."""
    return any(rule.purpose in ("*", purpose) and rule.channel in ("*", channel) for rule in opt_outs)


def may_contact(purpose: str, channel: str, decisions: dict[tuple[str, str], str],
                opt_outs: Iterable[OptOutRule], held: bool = False) -> bool:
    """Whether a message for `purpose` may go out on `channel`, checked at send time; `held`: the person is on the
    list a declared basis keeps (a "declared" purpose's only way in)."""
    if opposed(purpose, channel, opt_outs):
        return False
    specific = decisions.get((purpose, channel))
    general = decisions.get((purpose, "*"))
    decision = specific or general
    if decision in ("denied", "revoked"):
        return False
    spec = COMMUNICATION_PURPOSES.get(purpose)
    if spec is None:
        raise ValueError(f"unknown communication purpose {purpose!r}")
    if spec.rule == "declared":
        return held
    if spec.rule == "opt_in":
        return decision == "granted"
    return True


def short_name(prenoms: str, nom_usage: str, nom_naissance: str) -> str:
    """« Claire MARTIN »: the first given name and the name in use, as agents' lists show a person."""
    first = prenoms.split(" ")[0] if prenoms else ""
    return f"{first} {(nom_usage or nom_naissance).upper()}".strip()
