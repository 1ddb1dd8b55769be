"""The data a template sees, built at send time from the ids a message carries.

A message stores ids (`document_id`, `appointment_id`, `lien_id`…) and small values (`texte`), never the
person's data: what is sent is what is true when it leaves (a citizen link is signed then, too).
Capabilities declare their own namespaces with a bulk loader (`MessageData`: `deadlines` declares
`rendez_vous`), and e-mail attachments (the appointment's calendar file).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings

from proactif.kernel import capabilities
from proactif.messaging import _links as links
from proactif.registry import services as registry

# A declared namespace's loader gives, for each id, the record; a record may add root variables under
# "_racines" (the appointment gives `pieces`, the list of documents to bring).
PASSTHROUGH = ("texte", "pieces", "date_limite")
# A stored message shows this in place of the resident's signed link: the link is put in at send time only, so
# no agent reading a message (nor its row in the database) holds a working link to the resident's pages.
LINK_MARK = "[lien personnel]"


def attachments(context: dict[str, Any]) -> list[tuple[str, str, str]]:
    """E-mails whose message carries a declared id get the file its `attachment` builds (name, content, type)."""
    out = []
    for data in capabilities.message_data():
        if data.attachment is not None and context.get(data.id_key) is not None:
            built = data.attachment(context[data.id_key])
            if built:
                out.append(built)
    return out


def collectivite() -> dict[str, str]:
    return {"nom": settings.COLLECTIVITE_NAME, "telephone": settings.COLLECTIVITE_PHONE,
            "site": settings.PUBLIC_URL, "adresse": settings.LETTER_SENDER_ADDRESS.replace("|", ", ")}


def personne(reach: registry.Reachable, age: int | None) -> dict[str, Any]:
    return {"prenom": reach.prenom, "nom": reach.nom.upper(), "civilite": reach.civilite,
            "nom_complet": reach.nom_complet, "age": age}


def build_many(rows: list[tuple[int, dict[str, Any], registry.Reachable | None]]) -> dict[int, dict[str, Any]]:
    """Template contexts for (message id, message context, person) triples, with one load per namespace; a message
    to a contact value has no person (None): no `personne`, and a template naming it fails as missing data."""
    from proactif.kernel import clock
    from proactif.registry.domain import age_on

    declared = {declaration.namespace: declaration for declaration in capabilities.message_data()}
    wanted: dict[str, set[Any]] = defaultdict(set)
    for _, context, _ in rows:
        for namespace, declaration in declared.items():
            if context.get(declaration.id_key) is not None:
                wanted[namespace].add(context[declaration.id_key])
        wanted["document"].update(context.get("documents", ()))
    loaded = {namespace: declared[namespace].load(sorted(ids)) for namespace, ids in wanted.items()}
    base = collectivite()
    today = clock.today()
    out = {}
    for message_id, context, reach in rows:
        data: dict[str, Any] = {"collectivite": base}
        if reach is not None:
            data["personne"] = personne(reach, age_on(reach.born, today) if reach.born else None)
        for namespace, declaration in declared.items():
            ident = context.get(declaration.id_key)
            if ident is not None and ident in loaded.get(namespace, {}):
                record = dict(loaded[namespace][ident])
                data.update(record.pop("_racines", {}))
                data[namespace] = record
        for key in PASSTHROUGH:
            if key in context:
                data[key] = context[key]
        if context.get("lien_id") is not None:
            data["lien"] = LINK_MARK
        if "documents" in context:
            data["documents"] = [loaded["document"][i] for i in context["documents"] if i in loaded["document"]]
        out[message_id] = data
    return out


def link_url(context: dict[str, Any]) -> str | None:
    """The signed link a message carries, made when it leaves (None: it carries none)."""
    return links.url_for_id(int(context["lien_id"])) if context.get("lien_id") is not None else None


def with_link(text: str, url: str | None) -> str:
    return text.replace(LINK_MARK, url) if url else text


EXAMPLE_TEXT = "Votre texte, tel que l'agent l'écrira."


def fill_examples(data: dict[str, Any], source: str) -> list[str]:
    """For a preview: the data a template names that no message gave it — a document, an appointment, an alert —
    filled with the example its capability declares (roots included), the link as its mark and a free text as a
    placeholder. Returns the names filled, for the preview to say so."""
    import re

    filled = []
    for declaration in capabilities.message_data():
        if declaration.namespace not in data and f"{declaration.namespace}." in source and declaration.example:
            record = dict(declaration.example)
            for root, value in record.pop("_racines", {}).items():
                data.setdefault(root, value)
            data[declaration.namespace] = record
            filled.append(declaration.namespace)
    if "lien" not in data and re.search(r"\{\{\s*lien\b", source):
        data["lien"] = LINK_MARK
    if "texte" not in data and re.search(r"\{\{\s*texte\b", source):
        data["texte"] = EXAMPLE_TEXT
        filled.append("texte")
    return filled
