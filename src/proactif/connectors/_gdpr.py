"""Connectors' part in GDPR rights and retention: the calls made about a resident to other administrations'
APIs, and the answers kept from them.

The answers kept (`CachedAnswer`) are data about the person: exported, erased on request (the next call asks
the API again), deleted by the purge once expired. The call log (`ConnectorCall`) traces the exchanges
between administrations — who asked what, why, on what legal basis, for whom — and never holds an answer:
exported, retained on an erasure request until its retention (`PROACTIF_CONNECTOR_LOG_RETENTION_DAYS`) ends,
then deleted by the purge.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from proactif.connectors.models import CachedAnswer, ConnectorCall
from proactif.kernel import clock
from proactif.kernel.capabilities import ErasureItem

RETAIN_TRACE = ("RGPD art. 17-3-b : obligation légale et mission d'intérêt public — traçabilité des échanges de "
                "données entre administrations (CRPA art. L114-8, L114-9 et R114-9-5) ; le journal ne contient "
                "aucune réponse et chaque ligne est supprimée {days} jours après l'appel")


def export(person_id: int) -> dict[str, Any]:
    return {
        "appels": [{"date": c.at.isoformat(), "api": c.api, "operation": c.operation, "finalite": c.purpose,
                    "base_legale": c.legal_basis, "destinataire": c.recipient, "acteur": c.actor,
                    "statut": c.status, "erreur": c.error_code or None, "depuis_le_cache": c.from_cache}
                   for c in ConnectorCall.objects.filter(person_id=person_id).order_by("at", "id")],
        "reponses_conservees": [{"api": a.api, "operation": a.operation, "mois": a.month,
                                 "trouvee": a.status == 200, "obtenue_le": a.fetched_at.isoformat(),
                                 "expire_le": a.expires_at.isoformat(), "donnees": a.data}
                                for a in CachedAnswer.objects.filter(person_id=person_id).order_by("fetched_at",
                                                                                                    "id")],
    }


def plan_erasure(person_id: int) -> list[ErasureItem]:
    return [ErasureItem("réponses des administrations", "erase", "les réponses conservées sont effacées ; "
                        "l'administration concernée sera de nouveau interrogée au besoin",
                        CachedAnswer.objects.filter(person_id=person_id).count()),
            ErasureItem("journal des appels aux administrations", "retain",
                        RETAIN_TRACE.format(days=settings.CONNECTOR_LOG_RETENTION_DAYS),
                        ConnectorCall.objects.filter(person_id=person_id).count())]


def erase(person_id: int) -> dict[str, int]:
    return {"cached_answers": CachedAnswer.objects.filter(person_id=person_id).delete()[0]}


def purge() -> dict[str, int]:
    now = clock.now()
    cutoff = now - timedelta(days=settings.CONNECTOR_LOG_RETENTION_DAYS)
    return {"expired_answers": CachedAnswer.objects.filter(expires_at__lt=now).delete()[0],
            "call_log_rows": ConnectorCall.objects.filter(at__lt=cutoff).delete()[0]}


def wipe() -> int:
    return int(CachedAnswer.objects.all().delete()[0] + ConnectorCall.objects.all().delete()[0])

