"""Template filters of the messaging pages."""

from __future__ import annotations

from django import template

from proactif.messaging import domain

register = template.Library()


@register.filter
def citizen_links(text: str) -> list[str]:
    """`{% for url in message.body|citizen_links %}` — the citizen links a message caught by a built-in sink holds,
    whole (its text may be cut short on the page, never its link)."""
    return domain.citizen_links(text)
