"""The registry's part in GDPR rights and retention (declared in capability.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery

from proactif.kernel import clock
from proactif.kernel.capabilities import ErasureItem
from proactif.registry.models import (
    BenefitPayment,
    BenefitReceipt,
    ChannelPreference,
    Consent,
    ContactPoint,
    Document,
    ImportRejection,
    Merge,
    MergeSuggestion,
    MonthlyResource,
    OptOut,
    Person,
    PersonAlias,
    Resource,
)

RETAIN_MISSION = "données nécessaires à une mission de service public en cours (RGPD art. 17-3-b)"
RETAIN_PROOF = "preuve des consentements et refus recueillis (RGPD art. 7-1), sans identité une fois anonymisé"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def export(person_id: int) -> dict[str, Any]:
    p = Person.objects.select_related("household__address__voie").get(pk=person_id)
    address = p.household.address if p.household and p.household.address else None
    return {
        "identite": {"nom_naissance": p.nom_naissance, "nom_usage": p.nom_usage, "prenoms": p.prenoms,
                     "sexe": p.sexe, "date_naissance": _iso(p.date_naissance),
                     "code_insee_naissance": p.code_insee_naissance, "lieu_naissance": p.lieu_naissance,
                     "nir": p.nir, "statut": p.status, "identifiant_externe": p.external_id,
                     "autres_identifiants": list(p.aliases.values_list("external_id", flat=True))},
        "foyer": {"identifiant": p.household_id, "role": p.menage_role,
                  "adresse": str(address) if address else None,
                  "logement": p.household.logement if p.household else None},
        "coordonnees": [{"type": c.kind, "valeur": c.value, "statut": c.status, "source": c.source,
                         "depuis": _iso(c.created_at)} for c in p.contacts.all()],
        "canaux_preferes": list(p.channel_preferences.order_by("rank").values_list("channel", flat=True)),
        "consentements": [{"finalite": c.purpose, "canal": c.channel, "decision": c.decision, "source": c.source,
                           "version_du_texte": c.text_version, "date": _iso(c.recorded_at)}
                          for c in p.consents.order_by("recorded_at")],
        "oppositions": [{"finalite": o.purpose, "canal": o.channel, "source": o.source, "date": _iso(o.created_at),
                         "levee": _iso(o.revoked_at)} for o in p.opt_outs.all()],
        "documents": [{"type": d.kind, "numero": d.numero, "delivre_le": _iso(d.issued_on),
                       "expire_le": _iso(d.expires_on), "statut": d.status} for d in p.documents.all()],
        "ressources": [{"type": r.kind, "montant_mensuel": str(r.monthly_amount), "montant_brut": _text(r.gross_amount),
                        "montant_imposable": _text(r.taxable_amount), "depuis": _iso(r.start_on),
                        "source": r.source} for r in p.resources.all()],
        "prestations": [{"prestation": b.benefit, "montant_mensuel": str(b.monthly_amount), "depuis": _iso(b.since),
                         "source": b.source}
                        for b in BenefitReceipt.objects.filter(Q(person=p) | Q(famille_id=p.famille_id or -1))],
        "ressources_mensuelles": [{"mois": r.month.strftime("%Y-%m"), "type": r.kind, "montant": str(r.amount),
                                   "montant_brut": _text(r.gross_amount), "montant_imposable": _text(r.taxable_amount),
                                   "source": r.source} for r in p.monthly_resources.order_by("month", "kind")],
        "prestations_versees": [{"mois": b.month.strftime("%Y-%m"), "prestation": b.benefit, "montant": str(b.amount),
                                 "source": b.source} for b in p.benefit_payments.order_by("month", "benefit")],
        "fusions_de_fiches": [{"date": _iso(m.merged_at), "fiche_conservee": m.survivor_id,
                               "fiche_fusionnee": m.duplicate_id, "motif": m.reason, "annulee": _iso(m.undone_at)}
                              for m in _merges(person_id)],
        "doublons_suggeres": _suggestions(person_id).count(),
    }


def _text(amount: Any) -> str | None:
    return None if amount is None else str(amount)


def _merges(person_id: int) -> Any:
    return Merge.objects.filter(Q(survivor_id=person_id) | Q(duplicate_id=person_id)).order_by("merged_at")


def _suggestions(person_id: int) -> Any:
    return MergeSuggestion.objects.filter(Q(person_a_id=person_id) | Q(person_b_id=person_id))


def plan_erasure(person_id: int) -> list[ErasureItem]:
    p = Person.objects.get(pk=person_id)
    resident = p.status == "active"

    def n(qs: Any) -> int:
        return int(qs.count())

    items = [
        ErasureItem("identité", "retain" if resident else "anonymise",
                    RETAIN_MISSION if resident else "la personne n'est plus résidente : identité anonymisée"),
        ErasureItem("coordonnées", "erase", "plus aucun message ne lui sera envoyé", n(p.contacts.all())),
        ErasureItem("canaux préférés", "erase", "", n(p.channel_preferences.all())),
        ErasureItem("ressources", "erase", "", n(p.resources.all()) + n(p.monthly_resources.all())),
        ErasureItem("prestations", "erase", "", n(p.benefits.all()) + n(p.benefit_payments.all())),
        ErasureItem("documents", "retain" if resident else "erase",
                    RETAIN_MISSION if resident else "", n(p.documents.all())),
        ErasureItem("consentements", "retain", RETAIN_PROOF, n(p.consents.all())),
        ErasureItem("doublons suggérés", "erase", "", n(_suggestions(person_id))),
        ErasureItem("fusions de fiches", "retain" if resident else "erase",
                    "une fusion reste annulable tant que la personne réside" if resident else "",
                    n(_merges(person_id))),
    ]
    return items


def anonymise(person: Person) -> None:
    person.nom_naissance = person.prenoms = person.nom_cle = person.prenoms_cle = "ANONYME"
    person.nom_usage = person.usage_cle = person.code_insee_naissance = person.lieu_naissance = ""
    person.nir = person.external_id = None
    if person.date_naissance:
        person.date_naissance = date(person.date_naissance.year, 1, 1)  # the year stays for statistics
    person.status, person.status_changed_on, person.updated_at = "anonymised", clock.today(), clock.now()
    person.save()
    PersonAlias.objects.filter(person=person).delete()


def erase(person_id: int) -> dict[str, int]:
    p = Person.objects.get(pk=person_id)
    resident = p.status == "active"
    done = {
        "contacts": ContactPoint.objects.filter(person=p).delete()[0],
        "preferences": ChannelPreference.objects.filter(person=p).delete()[0],
        "resources": sum(m.objects.filter(person=p).delete()[0] for m in (Resource, MonthlyResource)),
        "benefits": sum(m.objects.filter(person=p).delete()[0] for m in (BenefitReceipt, BenefitPayment)),
        "duplicate_suggestions": _suggestions(person_id).delete()[0],
    }
    if not resident:
        done["merges"] = _merges(person_id).delete()[0]
        done["documents"] = Document.objects.filter(person=p).delete()[0]
        done["opt_outs"] = OptOut.objects.filter(person=p).delete()[0]
        anonymise(p)
        done["anonymised"] = 1
    return done


def purge() -> dict[str, int]:
    today = clock.today()
    cutoff = today - timedelta(days=settings.RESIDENT_RETENTION_DAYS)
    gone = Person.objects.filter(status__in=("moved_out", "deceased"), status_changed_on__lt=cutoff)
    anonymised = 0
    for person_id in gone.values_list("id", flat=True).iterator(1000):
        erase(person_id)
        anonymised += 1
    proof_cutoff = clock.now() - timedelta(days=settings.CONSENT_PROOF_RETENTION_DAYS)
    latest = Consent.objects.filter(person_id=OuterRef("person_id"), purpose=OuterRef("purpose"),
                                    channel=OuterRef("channel")).order_by("-recorded_at", "-id").values("id")[:1]
    superseded = Consent.objects.filter(recorded_at__lt=proof_cutoff).exclude(id=Subquery(latest))
    consents = superseded.delete()[0]
    report_cutoff = clock.now() - timedelta(days=settings.IMPORT_REPORT_RETENTION_DAYS)
    rejections = ImportRejection.objects.filter(run__started_at__lt=report_cutoff).delete()[0]
    return {"residents_anonymised": anonymised, "superseded_consents": consents, "import_rejections": rejections}

