"""Road works from open data (the Ville de Paris' "chantiers perturbants" GeoJSON) as scheduled incidents: one
per record, keyed by its identifier (importing the file again updates, never duplicates), its polygon widened
so that the buildings facing the works are inside, the alert prepared from the record and scheduled two days
before the works start. Every feature is checked: a bad one is reported with its number and reason, the others
are imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from proactif.accounts.domain import Actor
from proactif.alerts.models import Incident
from proactif.geo import services as geo
from proactif.kernel import clock

FACING_M = 25.0  # the works' polygon widened by this much: the addresses along the street
NOTICE = timedelta(days=2)  # the alert leaves this long before the works start
OBJECTS = {"REAMENAGEMENT_VOIRIE": "Réaménagement de voirie", "RESEAUX": "Travaux sur les réseaux",
           "CONSTRUCTION": "Chantier de construction", "EVENEMENT": "Événement", "ENTRETIEN": "Entretien"}
IMPACTS = {"RESTREINTE": "circulation restreinte", "BARREE": "rue barrée", "INTERDITE": "circulation interdite",
           "SENS_UNIQUE": "circulation en sens unique", "DEVIEE": "circulation déviée"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    past: int = 0  # works already over: not imported
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (feature number from 1, reason)

    def summary(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "past": self.past,
                "rejected": [{"feature": n, "reason": r} for n, r in self.rejected]}


def _when(value: Any, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{name} illisible : {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} sans fuseau horaire : {value!r}")
    return moment


def incident_fields(feature: dict[str, Any]) -> dict[str, Any]:
    props = feature.get("properties") or {}
    ref = str(props.get("identifiant") or "").strip()
    if not ref:
        raise ValueError("identifiant manquant")
    area = geo.widen(feature, FACING_M)
    starts, ends = _when(props.get("date_debut"), "date_debut"), _when(props.get("date_fin"), "date_fin")
    if ends < starts:
        raise ValueError("date_fin avant date_debut")
    voie = str(props.get("voie") or "").strip()
    where = str(props.get("precision_localisation") or "").strip().rstrip(".")
    what = OBJECTS.get(str(props.get("objet") or ""), "Travaux")
    impact = IMPACTS.get(str(props.get("impact_circulation") or ""), "")
    detail = str(props.get("impact_circulation_detail") or "").strip()
    text = (f"Du {starts:%d/%m/%Y} au {ends:%d/%m/%Y}, {voie}{' (' + where + ')' if where else ''} : "
            f"{str(props.get('description') or what).strip().rstrip('.')}."
            f"{' ' + impact.capitalize() + '.' if impact else ''}{' ' + detail if detail else ''}")
    owner = str(props.get("maitre_ouvrage") or "").strip()
    return {"type_code": "travaux", "title": f"{what} — {voie or ref}"[:200], "areas": [area],
            "area_label": (voie + (f", {where}" if where else ""))[:300] or ref, "starts_at": starts, "ends_at": ends,
            "source_ref": ref[:120], "pending": {"kind": "alerte", "texts": {"fr": text[:1000]}, "owner": owner},
            "send_at": starts - NOTICE}


def import_features(actor: Actor, data: dict[str, Any], source: str = "import:chantiers") -> ImportReport:
    report = ImportReport()
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        report.rejected.append((0, "le fichier n'est pas une FeatureCollection GeoJSON"))
        return report
    now = clock.now()
    for number, feature in enumerate(data.get("features") or [], start=1):
        try:
            fields = incident_fields(feature)
        except (ValueError, TypeError, KeyError, geo.AreaError) as exc:
            report.rejected.append((number, str(exc)))
            continue
        if fields["ends_at"] < now:
            report.past += 1
            continue
        with transaction.atomic():
            existing = Incident.objects.select_for_update().filter(source=source,
                                                                   source_ref=fields["source_ref"]).first()
            if existing is None:
                Incident.objects.create(**fields, source=source, created_by=actor.label, created_at=now, updated_at=now)
                report.created += 1
            elif existing.status == "brouillon":  # not sent yet: the record's latest version wins
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.updated_at = now
                existing.save()
                report.updated += 1
    return report
