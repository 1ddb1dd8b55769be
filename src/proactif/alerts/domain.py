"""Incidents, as pure rules: their types, their lifecycle, and their messages as CAP 1.2 documents (OASIS
Common Alerting Protocol) — no Django, no I/O.

Lifecycle: brouillon → (a waiting approval when the recipients exceed the threshold) → active after the alert
is sent → updates → resolution (a CAP `Update` with `responseType` `AllClear`) → close. Every message after the
first references the earlier ones (CAP `references`: `sender,identifier,sent` triples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"


@dataclass(frozen=True)
class IncidentType:
    code: str
    label: str
    label_en: str
    category: str  # CAP category
    response: str  # CAP responseType of an alert and its updates
    severity: str
    urgency: str


TYPES: dict[str, IncidentType] = {t.code: t for t in [
    IncidentType("coupure_electricite", "Coupure d'électricité", "Power cut", "Infra", "Prepare", "Moderate",
                 "Immediate"),
    IncidentType("coupure_eau", "Coupure d'eau", "Water cut", "Infra", "Prepare", "Moderate", "Immediate"),
    IncidentType("inondation", "Risque d'inondation", "Flood risk", "Met", "Prepare", "Severe", "Expected"),
    IncidentType("travaux", "Travaux de voirie", "Road works", "Transport", "Avoid", "Minor", "Future"),
    IncidentType("evenement", "Événement culturel", "Cultural event", "Other", "Monitor", "Minor", "Future"),
    IncidentType("autre", "Autre", "Other", "Other", "Monitor", "Moderate", "Expected"),
]}
LANGUAGES = ("fr", "en")
CAP_LANGUAGE = {"fr": "fr-FR", "en": "en-GB"}
MESSAGE_KINDS = ("alerte", "mise_a_jour", "fin")
SAFETY_KEYWORDS = {"OK": "en_securite", "SAFE": "en_securite", "BIEN": "en_securite",
                   "AIDE": "besoin_aide", "HELP": "besoin_aide", "SOS": "besoin_aide"}


class IncidentError(ValueError):
    """A request an incident's state or data does not allow (shown to the agent as is)."""


def next_status(status: str, kind: str) -> str:
    """The incident's status once a message of `kind` has gone: refuses what the lifecycle does not allow."""
    if status == "close":
        raise IncidentError("incident clos : plus aucun message")
    if kind == "alerte":
        if status not in ("brouillon", "a_valider"):
            raise IncidentError("l'alerte est déjà partie : envoyez une mise à jour")
        return "active"
    if status not in ("active", "resolue"):
        raise IncidentError("envoyez d'abord l'alerte")
    if kind == "mise_a_jour":
        if status == "resolue":
            raise IncidentError("incident résolu : plus de mise à jour")
        return "active"
    if kind == "fin":
        if status == "resolue":
            raise IncidentError("la fin de l'incident a déjà été annoncée")
        return "resolue"
    raise IncidentError(f"type de message inconnu : {kind}")


def needs_approval(recipients: int, threshold: int, exercise: bool) -> bool:
    """A second agent approves an alert above the threshold (an exercise reaches only test contacts)."""
    return not exercise and threshold > 0 and recipients > threshold


def message_view(type_code: str, title: str, kind: str, texts: dict[str, str], zone: str, exercise: bool,
                 seq: int) -> dict[str, Any]:
    """The `alerte` namespace a message's templates read: its type, stage, texts (English falls back on French),
    area and number."""
    incident_type = TYPES[type_code]
    return {"type": incident_type.label, "type_en": incident_type.label_en, "titre": title, "etape": kind,
            "texte": texts.get("fr", ""), "texte_en": texts.get("en") or texts.get("fr", ""), "zone": zone,
            "exercice": exercise, "numero": seq}


def safety_answer(text: str) -> str | None:
    """'OK' / 'AIDE' (and their English forms) as the first word of an SMS reply → the resident's answer."""
    words = text.strip().upper().split()
    return SAFETY_KEYWORDS.get(words[0].strip(".!,")) if words else None


# --- CAP 1.2 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CapArea:
    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()  # rings of (lon, lat), closed
    circles: tuple[tuple[float, float, float], ...] = ()  # (lon, lat, radius in metres)


@dataclass(frozen=True)
class CapMessage:
    identifier: str
    sender: str
    sent: datetime
    status: str  # Actual | Exercise
    msg_type: str  # Alert | Update
    type_code: str
    texts: dict[str, dict[str, str]]  # language → {headline, description, instruction}
    areas: Sequence[CapArea]
    sender_name: str
    references: Sequence[tuple[str, str, datetime]] = ()  # (sender, identifier, sent) of earlier messages
    resolution: bool = False
    effective: datetime | None = None
    expires: datetime | None = None
    web: str = ""
    contact: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


def cap_time(moment: datetime) -> str:
    """CAP's date-time: seconds, an explicit offset, never 'Z'."""
    if moment.tzinfo is None:
        raise ValueError("CAP needs an aware date-time")
    text = moment.replace(microsecond=0).isoformat()
    return text[:-6] + "+00:00" if text.endswith("+00:00") else text


def cap_polygon(ring: Sequence[tuple[float, float]]) -> str:
    """CAP's polygon: 'lat,lon' pairs separated by spaces, closed, at least four pairs (WGS 84)."""
    points = list(ring)
    if points and points[0] != points[-1]:
        points.append(points[0])
    if len(points) < 4:
        raise ValueError("un polygone CAP a au moins quatre points (le premier répété à la fin)")
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in points)


def cap_xml(message: CapMessage) -> str:
    """The message as a CAP 1.2 document: one `info` per language, areas as polygons or circles."""
    kind = TYPES[message.type_code]
    ET.register_namespace("", CAP_NS)
    root = ET.Element(f"{{{CAP_NS}}}alert")

    def add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            element.text = text
        return element

    add(root, "identifier", message.identifier)
    add(root, "sender", message.sender)
    add(root, "sent", cap_time(message.sent))
    add(root, "status", message.status)
    add(root, "msgType", message.msg_type)
    add(root, "scope", "Public")
    if message.references:
        add(root, "references", " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in message.references))
    for language, text in message.texts.items():
        info = add(root, "info")
        add(info, "language", CAP_LANGUAGE.get(language, language))
        add(info, "category", kind.category)
        add(info, "event", kind.label if language == "fr" else kind.label_en)
        add(info, "responseType", "AllClear" if message.resolution else kind.response)
        add(info, "urgency", "Past" if message.resolution else kind.urgency)
        add(info, "severity", "Minor" if message.resolution else kind.severity)
        add(info, "certainty", "Observed")
        if message.effective:
            add(info, "effective", cap_time(message.effective))
        if message.expires:
            add(info, "expires", cap_time(message.expires))
        add(info, "senderName", message.sender_name)
        for tag in ("headline", "description", "instruction"):
            if text.get(tag):
                add(info, tag, text[tag])
        if message.web:
            add(info, "web", message.web)
        if message.contact:
            add(info, "contact", message.contact)
        for name, value in message.parameters.items():
            parameter = add(info, "parameter")
            add(parameter, "valueName", name)
            add(parameter, "value", value)
        for area in message.areas:
            block = add(info, "area")
            add(block, "areaDesc", area.description)
            for ring in area.polygons:
                add(block, "polygon", cap_polygon(ring))
            for lon, lat, radius in area.circles:
                add(block, "circle", f"{lat:.6f},{lon:.6f} {radius / 1000:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def geojson_to_cap_areas(features: Sequence[dict[str, Any]], description: str) -> list[CapArea]:
    """An incident's areas (GeoJSON features in lon/lat; a Point with a `radius` is a circle) for CAP."""
    polygons: list[tuple[tuple[float, float], ...]] = []
    circles: list[tuple[float, float, float]] = []
    for feature in features:
        geometry = feature.get("geometry") or {}
        kind = geometry.get("type")
        if kind == "Point":
            lon, lat = geometry["coordinates"][:2]
            circles.append((float(lon), float(lat), float((feature.get("properties") or {}).get("radius", 0))))
        elif kind == "Polygon":
            polygons.append(tuple((float(x), float(y)) for x, y, *_ in geometry["coordinates"][0]))
        elif kind == "MultiPolygon":
            polygons.extend(tuple((float(x), float(y)) for x, y, *_ in part[0]) for part in geometry["coordinates"])
    return [CapArea(description, tuple(polygons), tuple(circles))] if polygons or circles else []
