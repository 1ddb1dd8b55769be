"""Document import (identity cards, passports, residence permits, subscriptions…).

The holder is found by `id_personne` (their external id or alias) or, failing that, by `nir`.
A missing expiry date is computed from the legal validity of the document (see domain).
"""

from __future__ import annotations

from proactif.kernel import clock
from proactif.registry import domain
from proactif.registry._importers import (
    Column,
    Counts,
    HolderImporter,
    ParsedLine,
    Rejection,
    changed,
    find_holders,
    holder_columns,
    parse_holder,
    required_of,
    unknown_holder,
)
from proactif.registry.domain import FieldError
from proactif.registry.models import Document

ALIASES = {"passport": "passeport", "carte_identite": "cni", "carte nationale d'identité": "cni",
           "titre de séjour": "titre_sejour", "permis": "permis_conduire"}


COLUMNS = (
    Column("id_externe", "identifiant du titre dans le logiciel source (64 caractères au plus), unique dans le "
                         "fichier", ("EXEMPLE-TITRE-1", "EXEMPLE-TITRE-2"), required=True),
    *holder_columns("du titulaire"),
    Column("type", ", ".join(domain.DOCUMENT_KINDS), ("passeport", "cni"), required=True),
    Column("numero", "numéro du titre (passeport : 2 chiffres, 2 lettres, 5 chiffres ; CNI : 9 caractères, ou 12 "
                     "chiffres avant 2021)", ("19AB12345", "X4RTBPFW4")),
    Column("date_delivrance", "date JJ/MM/AAAA ou AAAA-MM-JJ, pas dans le futur", ("2019-03-14", "02/09/2023"),
           required=True),
    Column("date_expiration", "date JJ/MM/AAAA ou AAAA-MM-JJ ; vide : calculée selon la durée de validité légale",
           ("2029-03-13", "")),
    Column("statut", f"{', '.join(domain.DOCUMENT_STATUSES)} (valide si vide)", ("valide", "")),
)


class DocumentImporter(HolderImporter):
    kind = "documents"
    section = "documents"
    columns = COLUMNS
    required_columns = required_of(COLUMNS)

    def parse(self, line: int, row: dict[str, str]) -> ParsedLine | None:
        external_id = row.get("id_externe", "").strip()
        if not external_id or len(external_id) > 64:
            raise FieldError("id_externe", "identifiant obligatoire (64 caractères au plus)")
        kind = row.get("type", "").strip().lower()
        kind = ALIASES.get(kind, kind)
        if kind not in domain.DOCUMENT_KINDS:
            raise FieldError("type", f"type inconnu « {kind[:30]} » ({', '.join(domain.DOCUMENT_KINDS)})")
        issued = domain.parse_date("date_delivrance", row.get("date_delivrance", ""), required=True)
        assert issued is not None
        if issued > self.today:
            raise FieldError("date_delivrance", "date de délivrance dans le futur")
        expires = domain.parse_date("date_expiration", row.get("date_expiration", ""))
        if expires is not None and expires < issued:
            raise FieldError("date_expiration", "date d'expiration antérieure à la délivrance")
        status = (row.get("statut", "").strip().lower() or "valide")
        if status not in domain.DOCUMENT_STATUSES:
            raise FieldError("statut", f"statut inconnu « {status[:20]} » ({', '.join(domain.DOCUMENT_STATUSES)})")
        holder, nir = parse_holder(row)
        return ParsedLine(line, external_id, {
            "kind": kind, "numero": domain.check_document_number("numero", kind, row.get("numero", "")),
            "issued_on": issued, "expires_on": expires, "status": status, "holder": holder, "nir": nir})

    def apply(self, batch: list[ParsedLine]) -> tuple[Counts, list[Rejection]]:
        counts = Counts()
        rejections: list[Rejection] = []
        now = clock.now()
        holder_of = find_holders(batch)
        existing = Document.objects.in_bulk([p.key for p in batch], field_name="external_id")
        to_create, to_update = [], []
        for parsed in batch:
            d = parsed.data
            person = holder_of(parsed)
            if person is None:
                rejections.append(unknown_holder(parsed))
                continue
            expires = d["expires_on"] or domain.default_expiry(d["kind"], d["issued_on"], person.date_naissance)
            values = {"person_id": person.pk, "kind": d["kind"], "numero": d["numero"], "issued_on": d["issued_on"],
                      "expires_on": expires,
                      "status": domain.document_status_on(d["status"], expires, self.today)}
            document = existing.get(parsed.key)
            if document is None:
                to_create.append(Document(external_id=parsed.key, source="import", updated_at=now, **values))
                counts.created += 1
                counts.touched.append(person.pk)
            elif changed(document, values):
                document.updated_at = now
                to_update.append(document)
                counts.updated += 1
                counts.touched.append(person.pk)
            else:
                counts.unchanged += 1
        Document.objects.bulk_create(to_create)
        if to_update:
            Document.objects.bulk_update(to_update, ["person_id", "kind", "numero", "issued_on", "expires_on",
                                                     "status", "updated_at"])
        return counts, rejections
