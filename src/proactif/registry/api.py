"""Registry API: search, person files, consents, oppositions, imports."""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from proactif.accounts.domain import Caller
from proactif.kernel.apischema import Input
from proactif.kernel.ids import Id
from proactif.registry import services
from proactif.registry._csvfiles import CsvFormatError
from proactif.registry._importers import HeaderError

router = Router(tags=["registre"])


class PersonSummary(Schema):
    id: int
    nom_naissance: str
    nom_usage: str
    prenoms: str
    date_naissance: date | None
    status: str
    adresse: str | None


class SearchOut(Schema):
    kind: str
    error: str
    results: list[PersonSummary]


class Contact(Schema):
    kind: str
    value: str
    is_mobile: bool
    status: str


class ConsentState(Schema):
    purpose: str
    channel: str
    decision: str
    recorded_at: datetime
    source: str
    text_version: str


class DocumentOut(Schema):
    kind: str
    numero: str
    issued_on: date | None
    expires_on: date | None
    status: str


class PersonFileOut(Schema):
    id: int
    purpose: str
    sections: list[str]
    nom_naissance: str
    nom_usage: str
    prenoms: str
    sexe: str
    date_naissance: date | None
    status: str
    adresse: str | None = None
    household_id: int | None = None
    members: list[int] | None = None
    contacts: list[Contact] | None = None
    preferences: list[str] | None = None
    consents: list[ConsentState] | None = None
    documents: list[DocumentOut] | None = None


def _address(person: services.Person) -> str | None:
    household = person.household
    return str(household.address) if household and household.address else None


@router.get("/persons", response=SearchOut, summary="Rechercher des habitants")
def search(request: HttpRequest, q: str = Query(..., min_length=2, max_length=200),
           purpose: str | None = None, limit: int = Query(20, ge=1, le=50)) -> dict[str, object]:
    """Par nom (« dupont marie »), adresse (« 12 rue des lilas »), téléphone ou début d'e-mail."""
    who: Caller = request.auth  # type: ignore[attr-defined]
    parsed, persons = services.search_persons(who.access(purpose), q, limit)
    return {"kind": parsed.kind, "error": parsed.error, "results": [
        {"id": p.pk, "nom_naissance": p.nom_naissance, "nom_usage": p.nom_usage, "prenoms": p.prenoms,
         "date_naissance": p.date_naissance, "status": p.status, "adresse": _address(p)} for p in persons]}


@router.get("/persons/{person_id}", response=PersonFileOut, summary="Dossier d'un habitant")
def person(request: HttpRequest, person_id: Id, purpose: str | None = None) -> dict[str, object]:
    """Les rubriques renvoyées sont celles qu'ouvre la finalité ; la lecture est journalisée."""
    who: Caller = request.auth  # type: ignore[attr-defined]
    f = services.person_file(who.access(purpose), person_id)
    p = f.person
    out: dict[str, object] = {
        "id": p.pk, "purpose": f.purpose, "sections": sorted(s.value for s in f.sections),
        "nom_naissance": p.nom_naissance, "nom_usage": p.nom_usage, "prenoms": p.prenoms, "sexe": p.sexe,
        "date_naissance": p.date_naissance, "status": p.status}
    if f.shows("adresses"):
        out["adresse"] = _address(p)
    if f.shows("foyer"):
        out["household_id"] = p.household_id
        out["members"] = [m.pk for m in f.members]
    if f.shows("contacts"):
        out["contacts"] = [{"kind": c.kind, "value": c.value, "is_mobile": c.is_mobile, "status": c.status}
                           for c in f.contacts]
    if f.shows("preferences"):
        out["preferences"] = f.preferences
    if f.shows("consentements"):
        out["consents"] = [c.__dict__ for c in f.consents]
    if f.shows("documents"):
        out["documents"] = [{"kind": d.kind, "numero": d.numero, "issued_on": d.issued_on,
                             "expires_on": d.expires_on, "status": d.status} for d in f.documents]
    return out


class ConsentIn(Input):
    purpose: str
    channel: str = "*"
    decision: Literal["granted", "denied", "revoked"]
    source: str
    text_version: str
    proof: dict[str, str] = {}


class Created(Schema):
    id: int


@router.post("/persons/{person_id}/consents", response={201: Created}, summary="Enregistrer un consentement")
def record_consent(request: HttpRequest, person_id: Id, body: ConsentIn,
                   purpose: str | None = None) -> Status[dict[str, int]]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    consent = services.record_consent(who.access(purpose), person_id, purpose=body.purpose, channel=body.channel,
                                      decision=body.decision, source=body.source, text_version=body.text_version,
                                      proof=body.proof)
    return Status(201, {"id": consent.pk})


class OptOutIn(Input):
    purpose: str = "*"
    channel: str = "*"
    source: str
    reason: str = ""


@router.post("/persons/{person_id}/opt-outs", response={201: Created}, summary="Enregistrer une opposition")
def add_opt_out(request: HttpRequest, person_id: Id, body: OptOutIn,
                purpose: str | None = None) -> Status[dict[str, int]]:
    who: Caller = request.auth  # type: ignore[attr-defined]
    opt_out = services.add_opt_out(who.access(purpose), person_id, purpose=body.purpose, channel=body.channel,
                                   source=body.source, reason=body.reason)
    return Status(201, {"id": opt_out.pk})


class ImportError_(Schema):
    line: int
    field: str
    reason: str


class ImportOut(Schema):
    run_id: int
    lines: int
    created: int
    updated: int
    unchanged: int
    rejected_lines: int
    skipped: int
    errors: list[ImportError_]


@router.post("/imports/{kind}", response=ImportOut, summary="Importer un fichier CSV")
def import_file(request: HttpRequest, kind: Literal["residents", "addresses", "documents"],
                file: UploadedFile = File(...)) -> dict[str, object]:  # noqa: B008
    """Chaque ligne rejetée est renvoyée avec son numéro et son motif ; les autres sont importées.
    Réservé aux clés de production (une clé de test n'écrit pas dans le registre réel)."""
    who: Caller = request.auth  # type: ignore[attr-defined]
    if who.kind == "test":
        raise HttpError(403, "une clé de test ne peut pas importer dans le registre")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.csv"
        with path.open("wb") as handle:
            for chunk in file.chunks():
                handle.write(chunk)
        try:
            report = services.import_file(kind, str(path), actor=who.actor, purpose=who.access(None).purpose)
        except (CsvFormatError, HeaderError) as exc:
            raise HttpError(400, str(exc)) from exc
    return report.as_dict(max_errors=10_000)
