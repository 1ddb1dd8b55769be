"""Monthly feeds, as an administration receives them: each person's resources for a month (the « montant net
social » and other incomes) and the benefits paid to them.

A line names the person (`id_personne` — their external id or an alias — or `nir`), the month (`mois`,
AAAA-MM) and an amount; a line is keyed by (person, month, type) or (person, month, benefit), so importing a
corrected feed updates the month and importing the same file twice changes nothing. A resource line may also
carry the gross amount (`montant_brut`) and the taxable one (`montant_imposable`), as the DSN and PASRAU
declarations do: the benefits do not all read the same amount (the ASPA reads gross pensions and wages).

    id_personne;mois;type;montant_net_social        id_personne;mois;prestation;montant
    HAB-00042;2026-10;salaire;1 734,12              HAB-00042;2026-10;prime_activite;187,40
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from proactif.kernel import clock
from proactif.registry import domain
from proactif.registry._importers import (
    Column,
    Counts,
    HolderImporter,
    ParsedLine,
    Rejection,
    find_holders,
    holder_columns,
    parse_holder,
    required_of,
    unknown_holder,
)
from proactif.registry.domain import FieldError
from proactif.registry.models import BenefitPayment, BenefitReceipt, MonthlyResource, Resource


class MonthlyFeedImporter(HolderImporter):
    """The shared mechanics: parse a line (person, month, a coded type, an amount), then upsert by key."""

    kind = ""
    section = "ressources"
    type_column = ""
    amount_column = ""
    types: dict[str, str] = {}
    model: Any = None
    type_field = ""
    optional_amounts: dict[str, str] = {}  # column → field, when the feed carries it
    columns: tuple[Column, ...] = ()

    @property
    def required_columns(self) -> tuple[str, ...]:
        return required_of(self.columns)

    def parse(self, line: int, row: dict[str, str]) -> ParsedLine | None:
        holder, nir = parse_holder(row, "personne")
        month = domain.parse_month("mois", row.get("mois", ""))
        if month > self.today:
            raise FieldError("mois", "mois à venir : un flux décrit des mois passés ou le mois en cours")
        code = row.get(self.type_column, "").strip().lower()
        if code not in self.types:
            raise FieldError(self.type_column, f"{self.type_column} inconnu « {code[:30]} » "
                                               f"({', '.join(self.types)})")
        amount = domain.parse_amount(self.amount_column, row.get(self.amount_column, ""))
        more = {field: domain.parse_amount(column, row[column]) if row.get(column, "").strip() else None
                for column, field in self.optional_amounts.items()}
        key = f"{holder or nir}|{month.isoformat()}|{code}"
        return ParsedLine(line, key, {"holder": holder, "nir": nir, "month": month, "code": code, "amount": amount,
                                      "more": more})

    def apply(self, batch: list[ParsedLine]) -> tuple[Counts, list[Rejection]]:
        counts, rejections = Counts(), []
        now = clock.now()
        holder_of = find_holders(batch)
        resolved = []
        for parsed in batch:
            person = holder_of(parsed)
            if person is None:
                rejections.append(unknown_holder(parsed, "personne inconnue"))
            else:
                resolved.append((parsed, person.pk))
        existing = {(row.person_id, row.month, getattr(row, self.type_field)): row for row in self.model.objects.filter(
            person_id__any=list({pk for _, pk in resolved}), month__in={p.data["month"] for p, _ in resolved})}
        to_create, to_update = [], []
        for parsed, person_id in resolved:
            d = parsed.data
            row = existing.get((person_id, d["month"], d["code"]))
            if row is None:
                row = self.model(person_id=person_id, month=d["month"], amount=d["amount"], source="import",
                                 updated_at=now, **{self.type_field: d["code"]}, **d["more"])
                existing[(person_id, d["month"], d["code"])] = row
                to_create.append(row)
                counts.created += 1
                counts.touched.append(person_id)
            elif (Decimal(row.amount), *(getattr(row, f) for f in d["more"])) != (d["amount"], *d["more"].values()):
                row.amount, row.updated_at = d["amount"], now
                for field, value in d["more"].items():
                    setattr(row, field, value)
                if row.pk is not None:
                    to_update.append(row)
                counts.updated += 1
                counts.touched.append(person_id)
            else:
                counts.unchanged += 1
        self.model.objects.bulk_create(to_create)
        if to_update:
            self.model.objects.bulk_update(to_update, ["amount", "updated_at", *self.optional_amounts.values()])
        return counts, rejections


MONTH = Column("mois", "mois AAAA-MM ou MM/AAAA, passé ou en cours", ("2025-10", "10/2025"), required=True)
AMOUNT = "montant mensuel en euros : 1234,56 ou 1234.56"


class MonthlyResourceImporter(MonthlyFeedImporter):
    kind = "resources"
    type_column = "type"
    amount_column = "montant_net_social"
    types = dict(Resource.KINDS)
    model = MonthlyResource
    type_field = "kind"
    optional_amounts = {"montant_brut": "gross_amount", "montant_imposable": "taxable_amount"}
    columns = (*holder_columns("de la personne"), MONTH,
               Column("type", ", ".join(types), ("salaire", "bourse"), required=True),
               Column("montant_net_social", f"{AMOUNT} (montant net social)", ("1 734,12", "105.00"), required=True),
               Column("montant_brut", f"{AMOUNT} (brut)", ("2 210,00", "")),
               Column("montant_imposable", f"{AMOUNT} (net imposable)", ("1 805,37", "")))


class BenefitPaymentImporter(MonthlyFeedImporter):
    kind = "benefits"
    section = "prestations"
    type_column = "prestation"
    amount_column = "montant"
    types = dict(BenefitReceipt.BENEFITS)
    model = BenefitPayment
    type_field = "benefit"
    columns = (*holder_columns("de la personne"), MONTH,
               Column("prestation", ", ".join(types), ("prime_activite", "af"), required=True),
               Column("montant", AMOUNT, ("187,40", "141.99"), required=True))
