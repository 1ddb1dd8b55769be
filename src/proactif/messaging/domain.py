"""Messaging rules as pure functions: SMS encoding and segments, French public holidays and quiet hours,
frequency caps, channel choice. No Django, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import phonenumbers

DEFAULT_TZ = ZoneInfo("Europe/Paris")  # the callers pass the collectivité's zone (clock.local_tz())

# The channels messaging sends on (declared to the other capabilities in capability.py), named as in a sentence
CHANNEL_LABELS = {"sms": "SMS", "email": "e-mail", "push": "notification", "letter": "courrier",
                  "whatsapp": "WhatsApp", "messenger": "Messenger"}
CHANNELS = tuple(CHANNEL_LABELS)
DEFAULT_ORDER = ("sms", "email", "push", "letter")
LANES = ("urgent", "transactional", "bulk")

# --- French typography ---------------------------------------------------------------------------------------
NNBSP = "\u202f"  # the narrow no-break space French typography puts before ; : ! ? and inside « »
TYPESET_CHANNELS = frozenset({"email", "letter", "push", "whatsapp", "messenger"})  # Unicode all the way
_URL = re.compile(r"https?://\S+|\[lien personnel\]")
# A citizen link as a message carries it: the public address, /l/ and the signed token (b62 id, timestamp,
# signature) — a full stop or a bracket after it is the sentence's, not the link's
_CITIZEN_LINK = re.compile(r"https?://[^\s<>\"'\[\]]+?/l/[A-Za-z0-9_:-]+")
_UNIT = re.compile(r"(?<=\d) (?=(?:h|heures?|minutes?|min|jours?|semaines?|mois|ans|km|m|cm|mm|kg|g|l|°C|€|%)\b|€|%)")


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{8,15}|0\d(?:[ .-]?\d{2}){4})(?!\w)")  # E.164, national


def redact_contacts(text: str) -> str:
    """A provider's error as a list may show it: the e-mail addresses and phone numbers it quotes (an SMTP
    refusal names the address, an SMS gateway the number) replaced by « ••• » — the list masks recipients."""
    return _PHONE.sub("•••", _EMAIL.sub("•••", text or ""))


def typeset(text: str, channel: str) -> str:
    """A rendered text with French typography on the channels that carry Unicode: typographic apostrophes, a
    narrow no-break space before the high punctuation and inside the guillemets, a no-break space between a number
    and its unit (links left untouched). SMS keep
    the plain forms, which stay in the GSM-7 alphabet (one segment holds 160 characters, not 70), their no-break
    spaces made plain."""
    if not text:
        return text
    if channel not in TYPESET_CHANNELS:  # SMS: the no-break spaces of numbers (« 1 620 € ») become plain ones
        return text.replace(NNBSP, " ").replace("\u00a0", " ")
    links = _URL.findall(text)
    parts = _URL.split(text)
    out: list[str] = []
    for i, part in enumerate(parts):
        part = re.sub(r"(?<=\w)'(?=\w)", "\u2019", part)
        part = re.sub(r"[ \u00a0]+([:;!?»])", NNBSP + r"\1", part)
        part = re.sub(r"«[ \u00a0]+", "«" + NNBSP, part)
        part = _UNIT.sub("\u00a0", part)  # « 18 heures », « 150 € » never split across lines
        part = re.sub(r"(?m)^([–—]) ", "\\1\u00a0", part)  # a list's dashes keep their item
        out.append(part)
        if i < len(links):
            out.append(links[i])
    return "".join(out)


# --- SMS: GSM 03.38 alphabet, segments ------------------------------------------------------
GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€\f")  # each costs two septets (escape + character)

_GSM_SAFE = str.maketrans({
    "’": "'", "‘": "'", "‚": ",", "“": '"', "”": '"', "«": '"', "»": '"', "„": '"', "…": "...", "–": "-", "—": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "œ": "oe", "Œ": "OE", "ç": "c", "•": "-", "°": "o",
    "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u", "ë": "e", "ï": "i", "ÿ": "y", "À": "A", "Â": "A", "È": "E",
    "Ê": "E", "Ë": "E", "Î": "I", "Ï": "I", "Ô": "O", "Ù": "U", "Û": "U", "Ÿ": "Y", "á": "a", "í": "i", "ó": "o",
    "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
})


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int
    offending: tuple[str, ...]  # characters that force UCS-2


def citizen_links(text: str) -> list[str]:
    """The citizen links a sent message holds (`…/l/<signed token>`), whole, each once, in their order."""
    return list(dict.fromkeys(_CITIZEN_LINK.findall(text or "")))


def sms_length(text: str) -> SmsLength:
    offending = tuple(dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENDED))
    if not offending:
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 0 if units == 0 else 1 if units <= single else -(-units // multi)
    return SmsLength(encoding, units, segments, single if segments <= 1 else multi, offending)


def gsm_safe(text: str) -> str:
    """The closest text that stays in the GSM-7 alphabet (’ → ', œ → oe, ê → e…): one SMS instead of three."""
    out = []
    for ch in text.translate(_GSM_SAFE):
        if ch in GSM7_BASIC or ch in GSM7_EXTENDED:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(c in GSM7_BASIC for c in base) else "?")
    return "".join(out)


# --- calendar: French public holidays, quiet hours --------------------------------------------
def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def public_holidays(year: int, alsace_moselle: bool = False) -> dict[date, str]:
    sunday = easter(year)
    days = {
        date(year, 1, 1): "Jour de l'an", sunday + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail", date(year, 5, 8): "Victoire 1945",
        sunday + timedelta(days=39): "Ascension", sunday + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale", date(year, 8, 15): "Assomption", date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918", date(year, 12, 25): "Noël",
    }
    if alsace_moselle:
        days[sunday - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint-Étienne"
    return days


def is_public_holiday(day: date, alsace_moselle: bool = False) -> bool:
    return day in public_holidays(day.year, alsace_moselle)


@dataclass(frozen=True)
class QuietHours:
    """When non-urgent messages may go out: `start`–`end` local time (in `tz`), on allowed days."""

    start: time = time(8, 0)
    end: time = time(20, 0)
    sundays: bool = False
    holidays: bool = False
    alsace_moselle: bool = False
    tz: tzinfo = DEFAULT_TZ

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        if not self.sundays and local.weekday() == 6:
            return False
        if not self.holidays and is_public_holiday(local.date(), self.alsace_moselle):
            return False
        return self.start <= local.time() < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` if it is allowed, else the next opening (start of an allowed day)."""
        if self.allows(moment):
            return moment
        local = moment.astimezone(self.tz)
        day = local.date()
        if local.time() < self.start:
            candidate = datetime.combine(day, self.start, self.tz)
        else:
            candidate = datetime.combine(day + timedelta(days=1), self.start, self.tz)
        for _ in range(15):
            if self.allows(candidate):
                return candidate
            candidate = datetime.combine(candidate.date() + timedelta(days=1), self.start, self.tz)
        raise ValueError("no allowed sending time within two weeks: check the quiet-hours settings")


def parse_hours(text: str) -> tuple[time, time]:
    """'08:00-20:00' → (08:00, 20:00)."""
    try:
        start, end = (part.strip() for part in text.split("-"))
        return time.fromisoformat(start), time.fromisoformat(end)
    except ValueError as exc:
        raise ValueError(f"plage horaire invalide « {text} » (attendu HH:MM-HH:MM)") from exc


# --- frequency caps -----------------------------------------------------------------------
@dataclass(frozen=True)
class Caps:
    per_day: int = 2
    per_week: int = 5


def cap_release(sent: Sequence[datetime], now: datetime, caps: Caps) -> datetime | None:
    """None if one more non-urgent message may go now; else the moment the caps allow it."""
    day_ago, week_ago = now - timedelta(days=1), now - timedelta(days=7)
    last_day = sorted(t for t in sent if t > day_ago)
    last_week = sorted(t for t in sent if t > week_ago)
    release = []
    if len(last_day) >= caps.per_day:
        release.append(last_day[len(last_day) - caps.per_day] + timedelta(days=1))
    if len(last_week) >= caps.per_week:
        release.append(last_week[len(last_week) - caps.per_week] + timedelta(days=7))
    return max(release) if release else None


# --- channel choice -----------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """What a person offers at send time: preferred channels, reachable addresses, permissions."""

    preferences: tuple[str, ...] = ()
    addresses: dict[str, str] = field(default_factory=dict)  # channel → e-mail / E.164 / postal lines / push id
    allowed: frozenset[str] = frozenset(CHANNELS)  # channels the consents and oppositions leave open


def channel_order(policy: Iterable[str], preferences: Sequence[str]) -> list[str]:
    """Expand a policy such as ("preferred", "email", "letter") into an ordered list of channels; "!letter"
    keeps a channel out whatever the preferences (an urgent alert is no use by post)."""
    order: list[str] = []
    excluded: set[str] = set()
    for item in policy:
        if item.startswith("!") and item[1:] in CHANNELS:
            excluded.add(item[1:])
        elif item == "preferred":
            order += [c for c in preferences if c in CHANNELS] or list(DEFAULT_ORDER)
        elif item == "any":
            order += list(DEFAULT_ORDER)
        elif item in CHANNELS:
            order.append(item)
        else:
            raise ValueError(f"canal inconnu dans la politique : {item}")
    return [c for c in dict.fromkeys(order) if c not in excluded]


def choose_channel(policy: Iterable[str], recipient: Recipient, tried: Iterable[str] = ()) -> str | None:
    """The first channel of the policy the person can be reached on, may be contacted on, and that was not
    already tried for this message (fallback)."""
    done = set(tried)
    for channel in channel_order(policy, recipient.preferences):
        if channel in done or channel not in recipient.allowed:
            continue
        if recipient.addresses.get(channel):
            return channel
    return None


# Channels a message addressed to a contact value (no person) may go on: those whose address is the value itself
DIRECT_CHANNELS = ("sms", "email")


def direct_address(policy: Sequence[str], address: str) -> str:
    """The address a message to a contact value is stored with: its policy one concrete channel of
    DIRECT_CHANNELS (no preference to expand, no fallback), the value a valid mobile number (in E.164, as
    oppositions and replies are matched) or e-mail address. ValueError, in French, otherwise."""
    if len(policy) != 1 or policy[0] not in DIRECT_CHANNELS:
        raise ValueError(f"un message adressé à une coordonnée part sur un seul canal ({', '.join(DIRECT_CHANNELS)}),"
                         f" pas « {', '.join(policy)} »")
    value = address.strip()
    if policy[0] == "sms":
        number = phone_e164(value)
        if number is None:
            raise ValueError(f"numéro de téléphone invalide « {value[:30]} »")
        return number
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"adresse e-mail invalide « {value[:60]} »")
    local, _, host = value.rpartition("@")
    return f"{local}@{host.lower()}"


def backoff(attempt: int, base_seconds: int = 30, cap_seconds: int = 3600) -> timedelta:
    """Exponential backoff for temporary failures: 30 s, 1 min, 2 min… capped at one hour."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


# --- inbound messages: STOP, START, replies ---------------------------------------------------------------------
# "STOP" anywhere (the opt-out word French operators honour: "merci de ne plus m'écrire STOP", "STOPSMS",
# "stop sms", "STOP36180"), but not inside a word ("stopper", "non-stop"); the other words only to open the
# message, where they cannot be part of an ordinary reply ("je ne veux pas arrêter le traitement")
_STOP_ANYWHERE = re.compile(r"(?<![\w-])stop(?:\s*sms)?(?![a-z-])")
_STOP_FIRST = re.compile(r"^(?:arret|arreter|desinscription|desinscrire|desabonnement|desabonner|unsubscribe)(?!\w)")
_START_FIRST = re.compile(r"^(?:start|reprise)(?!\w)")


def plain_text(text: str) -> str:
    """`text` lower-cased, without accents, invisible characters (zero-width spaces, joiners, soft hyphens,
    byte-order marks) or runs of spaces (non-breaking ones included): what a keyword is looked for in."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(" " if c.isspace() else c for c in decomposed if unicodedata.category(c) not in ("Cf", "Mn"))
    return " ".join(kept.casefold().split())


def inbound_kind(text: str) -> str:
    """What a resident's message asks: stop (no more messages on this channel), start, or a reply."""
    plain = plain_text(text)
    if _STOP_ANYWHERE.search(plain) or _STOP_FIRST.match(plain):
        return "stop"
    if _START_FIRST.match(plain):
        return "start"
    return "reply"


def phone_e164(raw: str, region: str = "FR") -> str | None:
    """A sender's number in E.164 (how the registry keeps numbers), from what gateways send: `+33600104577`,
    `33600104577` (the country code without its +), `0600104577`, `0033 6 00 10 45 77`. None when it is not a
    valid phone number (an alphanumeric sender, a short code)."""
    value = re.sub(r"[\s.()\-]", "", plain_text(raw or ""))
    if not re.fullmatch(r"\+?[0-9]{4,17}", value):
        return None
    for candidate in (value,) if value.startswith("+") else (value, "+" + value):
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return None
