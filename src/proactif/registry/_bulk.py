"""Bulk loading into the registry (synthetic communes, large initial loads), under the ORM."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from proactif.registry._figures import refresh_figures
from proactif.registry.models import (
    Address,
    BenefitReceipt,
    ChannelPreference,
    Consent,
    ContactPoint,
    Document,
    Famille,
    FiguresSnapshot,
    FoyerFiscal,
    Household,
    Person,
    Quartier,
    Resource,
    Voie,
)

# Columns in the order bulk rows must follow; dates as ISO text, datetimes via
# kernel.bulkload.datetime_text, JSON as text.
BULK_COLUMNS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "quartier": (Quartier, ("id", "code", "nom", "code_insee", "code_postal", "geometry")),
    "voie": (Voie, ("id", "code_insee", "nom", "cle")),
    "address": (Address, ("id", "cle_interop", "voie_id", "numero", "suffixe", "complement", "code_postal",
                          "code_insee", "commune", "lon", "lat", "quartier_id", "source", "updated_at")),
    "household": (Household, ("id", "address_id", "logement", "statut_occupation", "loyer", "updated_at")),
    "famille": (Famille, ("id", "household_id", "numero_allocataire")),
    "foyer": (FoyerFiscal, ("id", "household_id", "numero_fiscal")),
    "person": (Person, ("id", "nom_naissance", "nom_usage", "prenoms", "sexe", "date_naissance",
                        "code_insee_naissance", "lieu_naissance", "nir", "status", "household_id", "menage_role",
                        "famille_id", "famille_role", "foyer_fiscal_id", "foyer_role", "taux_incapacite", "source",
                        "nom_cle", "usage_cle", "prenoms_cle", "updated_at", "status_changed_on", "langue")),
    "contact": (ContactPoint, ("person_id", "kind", "value", "is_mobile", "status", "source", "created_at")),
    "preference": (ChannelPreference, ("person_id", "channel", "rank")),
    "consent": (Consent, ("person_id", "purpose", "channel", "decision", "source", "text_version", "recorded_at",
                          "recorded_by", "proof")),
    "document": (Document, ("person_id", "kind", "numero", "issued_on", "expires_on", "status", "source",
                            "updated_at")),
    "resource": (Resource, ("person_id", "kind", "monthly_amount", "gross_amount", "taxable_amount", "start_on",
                            "source")),
    "benefit": (BenefitReceipt, ("famille_id", "person_id", "benefit", "monthly_amount", "since", "source")),
}


def bulk_table(kind: str) -> str:
    return str(BULK_COLUMNS[kind][0]._meta.db_table)


def bulk_load(kind: str, rows: Any) -> int:
    from proactif.kernel import bulkload

    model, columns = BULK_COLUMNS[kind]
    return bulkload.load_rows(model._meta.db_table, columns, rows)


def bulk_deferred_indexes() -> Any:
    """Context manager: the registry's secondary indexes are built once, after a bulk load."""
    from proactif.kernel import bulkload

    return bulkload.deferred_indexes(bulk_table(kind) for kind in BULK_COLUMNS)


def bulk_finish() -> None:
    """After a bulk load: move id sequences past the loaded ids, refresh statistics, drop cached figures."""
    from proactif.kernel import bulkload

    tables = [bulk_table(kind) for kind in BULK_COLUMNS]
    bulkload.reset_sequences(tables)
    bulkload.analyze(tables)
    refresh_figures()


def delete_registry() -> None:
    """Remove every resident, household, address and related row (used by `proactif seed --reset`)."""
    from proactif.kernel import bulkload
    from proactif.registry import models

    children_first = [models.MergeSuggestion, models.Merge, models.ImportRejection, models.ImportRun,
                      models.PersonAlias, models.BenefitReceipt, models.Resource, models.Document, models.OptOut,
                      models.Consent, models.ChannelPreference, models.ContactPoint, models.Person,
                      models.Famille, models.FoyerFiscal, models.Household, models.Address, models.Voie,
                      models.Quartier]
    from proactif.audit import services as audit

    with transaction.atomic():
        audit.wipe_everyone()  # journeys, messages, appointments… about the residents being removed
        models.Person.objects.filter(merged_into__isnull=False).update(merged_into=None)
        bulkload.delete_all(m._meta.db_table for m in children_first)
        FiguresSnapshot.objects.all().delete()
