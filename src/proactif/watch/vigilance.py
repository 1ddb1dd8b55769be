"""Météo-France's weather vigilance (« carte de vigilance ») read from its public formats — pure parsing: no Django,
no I/O. `parse` turns a file into a `Bulletin`; `levels_for` answers « which colour for canicule in the 75 today ».

Formats, sniffed from the first character of the file:
- JSON, vigilance V6 product « CDP_CARTE_EXTERNE » — what the DPVigilance API of portail-api.meteofrance.fr answers
  (`GET https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours`, header `apikey`) and what
  the open-data archive holds (files.data.gouv.fr/meteofrance/data/vigilance/metropole/…/CDP_CARTE_EXTERNE.json):
  `{"meta": {"snapshot_id", "product_datetime", …}, "product": {"warning_type": "vigilance",
  "type_cdp": "cdp_carte_externe", "update_time", "domain_id": "FRA", "periods": [{"echeance": "J" | "J1",
  "begin_validity_time", "end_validity_time", "timelaps": {"domain_ids": [{"domain_id": "75", "max_color_id",
  "phenomenon_items": [{"phenomenon_id": "6", "phenomenon_max_color_id": 3, "timelaps_items": […]}]}]}}]}}`.
  The J1 period is absent before 06:00 local time.
- XML of the former vigilance.meteofrance.com/data feed (retired, still found in archives), both files:
  NXFR33_LFPW_.xml `<CV><EV dateinsert="AAAAMMJJhhmmss"/><DV dep="62" coul="3"><risque val="2"/></DV>…</CV>` (one
  DV per département and colour, listing the phenomena at that colour) and NXFR34_LFPW_.xml
  `<cartevigilance><entetevigilance dateinsert="…"/><datavigilance dep="62" couleur="3"><risque valeur="2"/>
  <crue valeur="2"/></datavigilance>…` (the département's colour, the phenomena that give it, the flood colour).
  They describe the current day only (J); `dateinsert` is Paris time; Paris there stands for 92, 93 and 94 too.
  NXFR34 names only the phenomena at the département's colour: under orange or red, the others stay unknown.

Domains: the département codes « 01 »…« 95 », « 2A », « 2B » (and « 971 »…« 976 » should an overseas file use
them) are kept; a coastal strip « dd10 » (« 3310 », « 2A10 », only vagues-submersion lives there) counts for its
département, its Level marked `coastal`; the national roll-up « FRA », the defence zones « ZDF_… », Andorra « 99 »
and any other code are not départements and are skipped. Phenomenon ids beyond 9 are skipped likewise (the plan
reads none); an unknown colour, a wrong type or a missing key refuses the whole file: a half-read bulletin must not
pass for a green one.

Sources used to pin the names (the technical description of the product, « descriptif technique vigilance
métropole données publiques », was not reachable from here; these follow it): openHAB's Météo-France binding
(openhab/openhab-addons, bundles/org.openhab.binding.meteofrance, internal/dto MeteoFrance.java, Domain.java,
Hazard.java: the V6 fields, the domain and phenomenon codes); public test fixtures of V6 parsers built from real
CDP_CARTE_EXTERNE files (the `timelaps.domain_ids` list, coastal `dd10` domains, string `phenomenon_id`, the crues
phenomenon without chronology); the `vigilancemeteo` Python package (ZoneAlerte, NXFR33: `/CV/DV`, `coul`,
`risque val`, `/CV/EV dateinsert`, 92-93-94 read from 75) and the Domogik vigilance plugin's notes comparing the
NXFR33 and NXFR34 files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

MAX_BYTES = 5 * 1024 * 1024  # a real national bulletin weighs a few hundred kB
DAYS = ("J", "J1")
COLORS = {1: "vert", 2: "jaune", 3: "orange", 4: "rouge"}
PHENOMENA = {1: "vent_violent", 2: "pluie_inondation", 3: "orages", 4: "crues", 5: "neige_verglas", 6: "canicule",
             7: "grand_froid", 8: "avalanches", 9: "vagues_submersion"}
PHENOMENON_LABELS = {"vent_violent": "vent violent", "pluie_inondation": "pluie-inondation", "orages": "orages",
                     "crues": "crues", "neige_verglas": "neige-verglas", "canicule": "canicule",
                     "grand_froid": "grand froid", "avalanches": "avalanches",
                     "vagues_submersion": "vagues-submersion"}
PARIS = ZoneInfo("Europe/Paris")
_DEPARTEMENT = re.compile(r"0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6]")
_COASTAL = re.compile(r"(0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5])10")
_PETITE_COURONNE = ("92", "93", "94")  # the former XML has no domain of their own: Paris's colour is theirs


class VigilanceError(ValueError):
    """A vigilance file or service that cannot be read; the message is one French line saying what and where."""


@dataclass(frozen=True)
class Level:
    departement: str
    phenomenon: str
    color: int
    color_name: str
    day: str
    coastal: bool = False

    @property
    def label(self) -> str:
        return f"vigilance {self.color_name} {PHENOMENON_LABELS[self.phenomenon]}"


@dataclass(frozen=True)
class Bulletin:
    issued_at: datetime
    valid_from: datetime | None
    valid_to: datetime | None
    levels: list[Level]
    # The départements each day of the bulletin speaks of: a phenomenon it does not list for one is not under
    # vigilance there (green), a département it does not cover is unknown.
    covered: dict[str, frozenset[str]] = field(default_factory=dict)
    format: str = "json"


def parse(data: bytes | str) -> Bulletin:
    if isinstance(data, str) and len(data) > MAX_BYTES:  # every character is a byte at least: no need to encode
        raise _unreadable(f"fichier trop volumineux (au plus {MAX_BYTES // 1024 // 1024} Mo)")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise _unreadable(f"fichier trop volumineux ({len(raw) // 1024} Ko, au plus {MAX_BYTES // 1024 // 1024} Mo)")
    start = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"["):
        return _parse_json(raw)
    if start == b"<":
        return _parse_xml(raw)
    raise _unreadable("vide" if not start else "ni JSON ni XML")


def departement_code(code: str | int) -> str | None:
    """The département a code names (« 1 » → « 01 », « 2a » → « 2A »), None when it names none."""
    text = f"{code:02d}" if isinstance(code, int) and not isinstance(code, bool) else str(code).strip().upper()
    if len(text) == 1 and text.isdigit():
        text = "0" + text
    return text if _DEPARTEMENT.fullmatch(text) else None


def levels_for(bulletin: Bulletin, departements: Iterable[str], phenomena: Iterable[str] = ("canicule", "grand_froid"),
               day: str = "J") -> dict[tuple[str, str], Level]:
    """The highest colour per (département, phenomenon) on that day. A département the day covers gets green for a
    phenomenon it does not list (Météo-France lists canicule in summer only, grand froid in winter only); one it does
    not cover (an overseas département on the metropolitan map, J1 before 06:00) is left out: nothing is known."""
    if day not in DAYS:
        raise VigilanceError(f"échéance inconnue « {day} » (J ou J1 attendu)")
    wanted_phenomena = tuple(phenomena)
    unknown = [p for p in wanted_phenomena if p not in PHENOMENON_LABELS]
    if unknown:
        raise VigilanceError(f"phénomène inconnu « {unknown[0]} » (attendus : {', '.join(PHENOMENON_LABELS)})")
    wanted = []
    for raw in departements:
        code = departement_code(raw)
        if code is None:
            raise VigilanceError(f"code de département invalide « {raw} »")
        wanted.append(code)
    found: dict[tuple[str, str], Level] = {}
    for level in bulletin.levels:
        if level.day != day or level.departement not in wanted or level.phenomenon not in wanted_phenomena:
            continue
        key = (level.departement, level.phenomenon)
        if key not in found or level.color > found[key].color:
            found[key] = level
    covered = bulletin.covered.get(day, frozenset())
    return {(dep, phenomenon): found.get((dep, phenomenon)) or Level(dep, phenomenon, 1, COLORS[1], day)
            for dep in wanted for phenomenon in wanted_phenomena
            if (dep, phenomenon) in found or dep in covered}


# --- JSON (vigilance V6) ---------------------------------------------------------------------------------------

def _parse_json(raw: bytes) -> Bulletin:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _unreadable(f"encodage non UTF-8 (octet n° {exc.start + 1})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _unreadable(f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno})") from None
    except RecursionError:
        raise _unreadable("JSON imbriqué trop profondément") from None
    except ValueError:  # an integer of thousands of digits, over Python's conversion limit
        raise _unreadable("nombre démesuré dans le JSON") from None
    root = _object(document, "le document")
    product = _object(_key(root, "product", ""), "product")
    if str(product.get("warning_type", "vigilance")).lower() != "vigilance":
        raise _unreadable(f"produit « {product['warning_type']} » et non une vigilance (product.warning_type)")
    if str(product.get("type_cdp", "cdp_carte_externe")).lower() != "cdp_carte_externe":
        raise _unreadable(f"produit « {product['type_cdp']} » et non la carte de vigilance cdp_carte_externe "
                          "(product.type_cdp)")
    meta = root.get("meta")
    if "update_time" in product or not isinstance(meta, dict) or "product_datetime" not in meta:
        issued_at = _instant(_key(product, "update_time", "product"), "product.update_time")
    else:
        issued_at = _instant(meta["product_datetime"], "meta.product_datetime")
    levels: list[Level] = []
    covered: dict[str, frozenset[str]] = {}
    starts: list[datetime] = []
    ends: list[datetime] = []
    for p, period in enumerate(_array(_key(product, "periods", "product"), "product.periods")):
        where = f"product.periods[{p}]"
        period = _object(period, where)
        day = _key(period, "echeance", where)
        if not isinstance(day, str):
            raise _unreadable(f"{where}.echeance : texte attendu (trouvé : {_kind(day)})")
        if day not in DAYS:
            continue  # another horizon would be a new product version: J and J1 are read, it cannot mislead them
        for bound, into in (("begin_validity_time", starts), ("end_validity_time", ends)):
            if period.get(bound) is not None:
                into.append(_instant(period[bound], f"{where}.{bound}"))
        timelaps = _object(_key(period, "timelaps", where), f"{where}.timelaps")
        domains = _array(_key(timelaps, "domain_ids", f"{where}.timelaps"), f"{where}.timelaps.domain_ids")
        seen = set(covered.get(day, ()))
        for d, domain in enumerate(domains):
            seen.update(_read_domain(domain, f"{where}.timelaps.domain_ids[{d}]", day, levels))
        covered[day] = frozenset(seen)
    if not covered:
        raise _unreadable("aucune échéance J ou J1 dans product.periods")
    if not levels and not any(covered.values()):
        raise _unreadable("aucun département dans product.periods[].timelaps.domain_ids")
    return Bulletin(issued_at=issued_at, valid_from=min(starts, default=None), valid_to=max(ends, default=None),
                    levels=levels, covered=covered, format="json")


def _read_domain(domain: Any, where: str, day: str, levels: list[Level]) -> set[str]:
    """Appends the domain's levels; returns the département it covers in full (none for FRA, a defence zone,
    Andorra, and none for a coastal strip, which carries vagues-submersion only)."""
    domain = _object(domain, where)
    raw_id = _key(domain, "domain_id", where)
    if not isinstance(raw_id, str | int) or isinstance(raw_id, bool):
        raise _unreadable(f"{where}.domain_id : texte attendu (trouvé : {_kind(raw_id)})")
    departement, coastal = _domain_departement(raw_id)
    items = _array(_key(domain, "phenomenon_items", where), f"{where}.phenomenon_items")
    for i, item in enumerate(items):
        at = f"{where}.phenomenon_items[{i}]"
        item = _object(item, at)
        phenomenon = PHENOMENA.get(_integer(_key(item, "phenomenon_id", at), f"{at}.phenomenon_id"))
        color = _color(_key(item, "phenomenon_max_color_id", at), f"{at}.phenomenon_max_color_id")
        if departement is not None and phenomenon is not None:
            levels.append(Level(departement, phenomenon, color, COLORS[color], day, coastal))
    return {departement} if departement is not None and not coastal else set()


def _domain_departement(raw_id: str | int) -> tuple[str | None, bool]:
    code = departement_code(raw_id)
    if code is not None:
        return code, False
    coastal = _COASTAL.fullmatch(str(raw_id).strip().upper())
    return (coastal.group(1), True) if coastal else (None, False)


# --- XML (former vigilance.meteofrance.com feed) ----------------------------------------------------------------

def _parse_xml(raw: bytes) -> Bulletin:
    if re.search(rb"<!(DOCTYPE|ENTITY)", raw, re.IGNORECASE):
        # Météo-France's files carry none; refusing them rules out entity expansion and external references.
        raise _unreadable("déclaration DOCTYPE ou ENTITY refusée dans le XML")
    try:
        root = ET.fromstring(raw)  # noqa: S314 — size capped, DOCTYPE refused above
    except ET.ParseError as exc:
        line, column = exc.position
        raise _unreadable(f"XML invalide (ligne {line}, colonne {column + 1})") from None
    if root.tag == "CV":
        header, rows, color_attr, risk_attr = "EV", "DV", "coul", "val"
    elif root.tag == "cartevigilance":
        header, rows, color_attr, risk_attr = "entetevigilance", "datavigilance", "couleur", "valeur"
    else:
        raise _unreadable(f"élément racine <{root.tag}> inconnu (<CV> ou <cartevigilance> attendu)")
    head = root.find(header)
    if head is None or not head.get("dateinsert"):
        raise _unreadable(f"date du bulletin absente (<{header} dateinsert=…>)")
    issued_at = _dateinsert(head.get("dateinsert", ""), f"<{header} dateinsert>")
    levels: list[Level] = []
    covered: set[str] = set()
    for n, row in enumerate(root.iter(rows), start=1):
        where = f"<{rows}> n° {n}"
        departement, coastal = _domain_departement(_attribute(row, "dep", where))
        color = _color(_attribute(row, color_attr, where), f"{where} @{color_attr}")
        found = [(PHENOMENA.get(_integer(_attribute(risk, risk_attr, f"{where} <risque>"), f"{where} <risque>")),
                  color) for risk in row.iter("risque")]
        found += [("crues", _color(_attribute(flood, "valeur", f"{where} <crue>"), f"{where} <crue>"))
                  for flood in row.iter("crue")]
        if departement is None:
            continue
        levels += [Level(departement, phenomenon, c, COLORS[c], "J", coastal)
                   for phenomenon, c in found if phenomenon is not None]
        # NXFR33 lists every phenomenon at each colour; NXFR34 only those at the département's colour, so under an
        # orange or red one a phenomenon it does not list may be yellow: that département is not known in full.
        if not coastal and (rows == "DV" or color <= 2):
            covered.add(departement)
    if not levels and not covered:
        raise _unreadable(f"aucun département dans les éléments <{rows}>")
    present = covered | {level.departement for level in levels}
    for dep in (d for d in _PETITE_COURONNE if "75" in present and d not in present):
        levels += [Level(dep, lv.phenomenon, lv.color, lv.color_name, "J") for lv in levels
                   if lv.departement == "75" and not lv.coastal]
        if "75" in covered:
            covered.add(dep)
    return Bulletin(issued_at=issued_at, valid_from=None, valid_to=None, levels=levels,
                    covered={"J": frozenset(covered)}, format="xml")


def _attribute(element: ET.Element, name: str, where: str) -> str:
    value = element.get(name)
    if value is None:
        raise _unreadable(f"{where} : attribut {name} absent")
    return value


def _dateinsert(text: str, where: str) -> datetime:
    try:
        return datetime.strptime(text.strip()[:14], "%Y%m%d%H%M%S").replace(tzinfo=PARIS)
    except ValueError:
        raise _unreadable(f"date invalide « {text} » à {where} (AAAAMMJJhhmmss attendu)") from None


# --- shared checks ------------------------------------------------------------------------------------------------

def _unreadable(reason: str) -> VigilanceError:
    return VigilanceError(f"fichier de vigilance illisible : {reason}")


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for « objet attendu (trouvé : liste) »."""
    kinds = {dict: "objet", list: "liste", str: "texte", bool: "booléen", int: "nombre", float: "nombre"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


def _key(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise _unreadable(f"clé {where + '.' if where else ''}{key} absente")
    return obj[key]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _unreadable(f"{where} : objet attendu (trouvé : {_kind(value)})")
    return value


def _array(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _unreadable(f"{where} : liste attendue (trouvé : {_kind(value)})")
    return value


def _integer(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    raise _unreadable(f"{where} : nombre entier attendu (trouvé : « {value} »)")


def _color(value: Any, where: str) -> int:
    color = _integer(value, where)
    if color not in COLORS:
        raise _unreadable(f"couleur inconnue {color} à {where} (1 vert, 2 jaune, 3 orange ou 4 rouge attendu)")
    return color


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise _unreadable(f"{where} : date attendue (trouvé : {_kind(value)})")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _unreadable(f"date invalide « {value} » à {where}") from None
    if moment.tzinfo is None:
        raise _unreadable(f"date sans fuseau horaire « {value} » à {where}")
    return moment
