"""A message as a resident will receive it, rendered before anyone is written to: the published template of a
key, channel and language with the data a capability gives (an alert's text, its area…), an example resident,
and in place of the resident's own link a stand-in of the same length — so that an SMS counts the characters
and segments it will really have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proactif.messaging import _context as contexts
from proactif.messaging import _links as links
from proactif.messaging import _templating as templating
from proactif.messaging.models import Link, Template

EXAMPLE_PERSON = {"prenom": "Claire", "nom": "MARTIN", "civilite": "Madame", "nom_complet": "Claire MARTIN",
                  "age": 42}


@dataclass(frozen=True)
class Example:
    channel: str
    language: str
    subject: str
    body: str


def example_link() -> str:
    """A citizen link as long as the next one will be, that opens nothing: the public address, /l/ and as many
    « X » as the next link's signed token has characters (its id, its time and its signature)."""
    from django.db import connection
    from django.db.models import Max

    next_id = (Link.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    if connection.vendor == "postgresql":  # a sequence runs ahead of the greatest id (rolled-back inserts)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Link._meta.db_table])
            sequence = cursor.fetchone()[0]
            if sequence:
                cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # a catalog name, not input
                last, called = cursor.fetchone()
                next_id = max(next_id, last + 1 if called else last)
    return f"{links.url_for_id(next_id).rsplit('/l/', 1)[0]}/l/{'X' * len(links.token_for(next_id))}"


def published(template_key: str, language: str) -> dict[str, Template]:
    """The latest published template of the key, per channel, in the language — in French where it has none
    (as the send chooses)."""
    latest: dict[tuple[str, str], Template] = {}
    for template in Template.objects.filter(key=template_key, status="published",
                                            language__in=["fr", language]).order_by("version"):
        latest[(template.channel, template.language)] = template
    return {channel: latest.get((channel, language)) or latest[(channel, "fr")] for channel, _ in latest}


def render_examples(template_key: str, data: dict[str, Any], channels: list[str],
                    language: str = "fr") -> list[Example]:
    """Each of these channels' message (those without a published template are left out), in that order."""
    templates = published(template_key, language)
    context = {"collectivite": contexts.collectivite(), "personne": dict(EXAMPLE_PERSON), "lien": contexts.LINK_MARK,
               **data}
    link = example_link()
    out = []
    for channel in channels:
        template = templates.get(channel)
        if template is None:
            continue
        rendered = templating.render(template.subject, template.body, context, channel=channel)
        body = contexts.with_link(rendered.body, link)  # as the send puts each resident's link in
        out.append(Example(channel, template.language, contexts.with_link(rendered.subject, link), body))
    return out
