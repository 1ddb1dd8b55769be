"""What leaves the platform about incidents for other systems: each message as a CAP 1.2 document, the Atom
feed of active alerts (each entry links to its latest CAP document), the commune's outline for the map.

What is published is generalised: an incident aimed at addresses is described by their streets (or their
quartier, for a street of a few houses) — its area and its label — never by the address points themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings

from proactif.alerts import _dispatch as dispatch
from proactif.alerts import domain
from proactif.alerts.models import Incident, IncidentMessage
from proactif.geo import services as geo
from proactif.kernel import clock
from proactif.kernel.capabilities import Notice
from proactif.registry import services as registry

ATOM_NS = "http://www.w3.org/2005/Atom"


def identifier(message: IncidentMessage) -> str:
    """Unique for the sender: no spaces, commas or reserved characters (CAP 1.2 §3.2.1)."""
    return f"proactif.{settings.ALERT_SENDER.split('@')[-1]}.incident-{message.incident_id}.{message.seq}"


def cap_url(message: IncidentMessage) -> str:
    return f"{str(settings.PUBLIC_URL).rstrip('/')}/alertes/{message.incident_id}/cap/{message.seq}.xml"


def cap_message(message: IncidentMessage, earlier: list[IncidentMessage]) -> domain.CapMessage:
    incident = message.incident
    kind = domain.TYPES[incident.type_code]
    area_label = public_area_label(incident)
    texts = {}
    for language in domain.LANGUAGES:
        text = message.texts.get(language)
        if not text:
            continue
        label = kind.label if language == "fr" else kind.label_en
        suffix = {"fr": {"fin": " — fin", "mise_a_jour": " — mise à jour"},
                  "en": {"fin": " — over", "mise_a_jour": " — update"}}[language].get(message.kind, "")
        texts[language] = {"headline": f"{label}{suffix} : {area_label}"[:160] if language == "fr"
                           else f"{label}{suffix}: {area_label}"[:160], "description": text}
    return domain.CapMessage(
        identifier=identifier(message), sender=settings.ALERT_SENDER, sent=message.sent_at,
        status="Exercise" if incident.exercise else "Actual",
        msg_type="Alert" if message.kind == "alerte" else "Update", type_code=incident.type_code, texts=texts,
        areas=domain.geojson_to_cap_areas(message.areas, area_label) or _fallback_area(incident, area_label),
        sender_name=settings.COLLECTIVITE_NAME, resolution=message.kind == "fin",
        references=[(settings.ALERT_SENDER, identifier(m), m.sent_at) for m in earlier],
        effective=incident.starts_at, expires=incident.ends_at, web=cap_url(message),
        contact=settings.COLLECTIVITE_PHONE)


def _fallback_area(incident: Incident, label: str) -> list[domain.CapArea]:
    """Streets, quartiers and addresses have no drawn shape: the convex hull of the addresses selected, addresses
    widened to their streets (or quartier)."""
    hull = geo.selection_hull(geo.generalised(dispatch.target_of(incident)))
    if hull is None:
        return [domain.CapArea(label)]
    return domain.geojson_to_cap_areas([{"type": "Feature", "geometry": hull}], label)


def public_area_label(incident: Incident) -> str:
    """The area as published: the agent's label, except for an incident aimed at addresses, described by the
    streets and quartiers they generalise to (an agent's label would name the address)."""
    if not incident.address_ids:
        return incident.area_label or incident.title
    target = geo.generalised(dispatch.target_of(incident))
    names = registry.voie_names(target.voie_ids)
    parts = [names[v] for v in target.voie_ids if v in names]
    if target.quartier_ids:
        known = {q.pk: q.nom for q in registry.quartiers()}
        parts += [f"quartier {known[q]}" for q in target.quartier_ids if q in known]
    if target.areas:
        parts.append("zone tracée")
    return ", ".join(parts)[:300] or settings.COLLECTIVITE_NAME


def cap_document(incident_id: int, seq: int, public: bool = False) -> str:
    """A message as CAP 1.2 XML. `public`: as the public address serves it — an exercise's documents are for
    the agents and API clients only, and answer like an unknown message (LookupError)."""
    messages = list(IncidentMessage.objects.filter(incident_id=incident_id, seq__lte=seq).select_related(
        "incident").order_by("seq"))
    if not messages or messages[-1].seq != seq or (public and messages[-1].incident.exercise):
        raise LookupError(f"message {seq} de l'incident {incident_id} inconnu")
    return domain.cap_xml(cap_message(messages[-1], messages[:-1]))


def atom_feed(now: datetime | None = None) -> str:
    """Active incidents (not exercises), newest first; each entry's link is its latest CAP document."""
    now = now or clock.now()
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    base = str(settings.PUBLIC_URL).rstrip("/")
    add(feed, "id", f"{base}/alertes/flux.atom")
    add(feed, "title", f"{settings.COLLECTIVITE_NAME} — alertes en cours")
    add(feed, "link", rel="self", href=f"{base}/alertes/flux.atom")
    incidents = Incident.objects.filter(status__in=("active", "resolue"), exercise=False).order_by("-updated_at")
    latest = {}
    for message in IncidentMessage.objects.filter(incident__in=incidents).select_related("incident").order_by("seq"):
        latest[message.incident_id] = message
    add(feed, "updated", max((m.sent_at for m in latest.values()), default=now).isoformat())
    add(add(feed, "author"), "name", settings.COLLECTIVITE_NAME)
    for incident in incidents:
        message = latest.get(incident.pk)
        if message is None:
            continue
        entry = add(feed, "entry")
        add(entry, "id", f"urn:cap:{identifier(message)}")
        add(entry, "title", f"{domain.TYPES[incident.type_code].label} — {public_area_label(incident)}")
        add(entry, "updated", message.sent_at.isoformat())
        add(entry, "link", rel="alternate", type="application/cap+xml", href=cap_url(message))
        add(entry, "summary", message.texts.get("fr", ""))
    ET.indent(feed)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def public_notices() -> list[Notice]:
    """The incidents in progress (not exercises) as the Atom feed publishes them, for the public website."""
    incidents = Incident.objects.filter(status="active", exercise=False).order_by("-updated_at")[:20]
    latest: dict[int, IncidentMessage] = {}
    for message in IncidentMessage.objects.filter(incident__in=incidents).select_related("incident").order_by("seq"):
        latest[message.incident_id] = message
    return [Notice(f"{domain.TYPES[incident.type_code].label} — {public_area_label(incident)}",
                   latest[incident.pk].texts.get("fr", ""), cap_url(latest[incident.pk]),
                   latest[incident.pk].sent_at, "securite-prevention")
            for incident in incidents if incident.pk in latest]


def commune_outline() -> dict[str, Any]:
    outline = geo.outline()
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": outline}] if outline else []}
