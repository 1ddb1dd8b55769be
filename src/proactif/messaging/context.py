"""The data a template sees, built at send time from the ids a message carries.

A message stores ids (`document_id`, `appointment_id`, `lien_id`…) and small values (`texte`), never the
person's data: what is sent is what is true when it leaves (a citizen link is signed then, too).
Capabilities above messaging add their own namespaces by registering a bulk loader (`deadlines` registers
`rendez_vous`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.conf import settings

from proactif.messaging import links
from proactif.registry import services as registry

# namespace → (context key holding the id, bulk loader ids → {id: data}); a loaded record may add root
# variables under "_racines" (the appointment gives `pieces`, the list of documents to bring).
_LOADERS: dict[str, tuple[str, Callable[[list[Any]], dict[Any, dict[str, Any]]]]] = {}
_ATTACHMENTS: dict[str, Callable[[Any], tuple[str, str, str] | None]] = {}
PASSTHROUGH = ("lien", "texte", "pieces", "date_limite")


def register(namespace: str, id_key: str, loader: Callable[[list[Any]], dict[Any, dict[str, Any]]]) -> None:
    _LOADERS[namespace] = (id_key, loader)


def register_attachment(id_key: str, builder: Callable[[Any], tuple[str, str, str] | None]) -> None:
    """E-mails whose message carries `id_key` get the file `builder(id)` returns (name, content, MIME type)."""
    _ATTACHMENTS[id_key] = builder


def attachments(context: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for id_key, builder in _ATTACHMENTS.items():
        if context.get(id_key) is not None:
            built = builder(context[id_key])
            if built:
                out.append(built)
    return out


register("document", "document_id", registry.document_views)


def collectivite() -> dict[str, str]:
    return {"nom": settings.COLLECTIVITE_NAME, "telephone": settings.COLLECTIVITE_PHONE,
            "site": settings.PUBLIC_URL, "adresse": settings.LETTER_SENDER_ADDRESS.replace("|", ", ")}


def personne(reach: registry.Reachable, age: int | None) -> dict[str, Any]:
    return {"prenom": reach.prenom, "nom": reach.nom.upper(), "civilite": reach.civilite,
            "nom_complet": reach.nom_complet, "age": age}


def build_many(rows: list[tuple[int, dict[str, Any], registry.Reachable]]) -> dict[int, dict[str, Any]]:
    """Template contexts for (message id, message context, person) triples, with one load per namespace."""
    from proactif.kernel import clock
    from proactif.registry.domain import age_on

    wanted: dict[str, set[Any]] = defaultdict(set)
    for _, context, _ in rows:
        for namespace, (id_key, _) in _LOADERS.items():
            if context.get(id_key) is not None:
                wanted[namespace].add(context[id_key])
        wanted["document"].update(context.get("documents", ()))
    loaded = {namespace: _LOADERS[namespace][1](sorted(ids)) for namespace, ids in wanted.items()}
    base = collectivite()
    today = clock.today()
    out = {}
    for message_id, context, reach in rows:
        data: dict[str, Any] = {"collectivite": base,
                                "personne": personne(reach, age_on(reach.born, today) if reach.born else None)}
        for namespace, (id_key, _) in _LOADERS.items():
            ident = context.get(id_key)
            if ident is not None and ident in loaded.get(namespace, {}):
                record = dict(loaded[namespace][ident])
                data.update(record.pop("_racines", {}))
                data[namespace] = record
        for key in PASSTHROUGH:
            if key in context:
                data[key] = context[key]
        if context.get("lien_id") is not None:
            data["lien"] = links.url_for_id(int(context["lien_id"]))
        if "documents" in context:
            data["documents"] = [loaded["document"][i] for i in context["documents"] if i in loaded["document"]]
        out[message_id] = data
    return out
