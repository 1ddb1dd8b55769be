from __future__ import annotations

from typing import Any

from django import template

from proactif.accounts.domain import PURPOSES, SECTION_LABELS, Section
from proactif.kernel import capabilities
from proactif.kernel.text import count_fr, probability_fr
from proactif.registry import domain

register = template.Library()

DECISIONS = {"granted": "accord", "denied": "refus", "revoked": "retrait"}
ACTIONS = {"view": "consultation", "search": "résultat de recherche", "change": "modification", "export": "export RGPD",
           "erase": "effacement RGPD", "merge": "fusion", "unmerge": "annulation de fusion",
           "reject_duplicate": "doublon écarté", "api_view": "consultation (API)",
           "preview": "aperçu d'un message", "journey_takeover": "intervention sur un parcours",
           "view_sink": "boîte de test des messages", "download_letters": "téléchargement des courriers",
           "book": "prise de rendez-vous", "title_status": "suivi d'un titre",
           "export_list": "export d'une liste (CSV)", "export_log": "export du journal des accès"}


@register.filter
def shows(person_file: Any, section: str) -> bool:
    return bool(person_file.shows(section))


@register.filter
def channel_label(code: str) -> str:
    if code == "*":
        return "tous"
    channel = capabilities.channels().get(code)
    return channel.label if channel else code


@register.filter
def decision_label(code: str) -> str:
    return DECISIONS.get(code, code)


@register.filter
def action_label(code: str) -> str:
    return ACTIONS.get(code, code)


@register.filter
def purpose_label(code: str) -> str:
    purpose = PURPOSES.get(code)
    return purpose.label if purpose else code


@register.filter
def communication_purpose(code: str) -> str:
    """A message purpose as residents and agents read it (« Rappels d'échéances »), not its code."""
    spec = domain.COMMUNICATION_PURPOSES.get(code)
    return spec.label if spec else code


@register.filter
def section_label(code: str) -> str:
    try:
        return SECTION_LABELS[Section(code)]
    except ValueError:
        return code


@register.filter
def mask_nir(nir: str) -> str:
    """1 95 10 ** *** *** 93 — sex, birth year and month, key; the rest hidden."""
    if not nir or len(nir) != 15:
        return "—"
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} ** *** *** {nir[13:]}"


@register.filter
def phone_fr(e164: str) -> str:
    return domain.format_phone_national(e164)


@register.filter
def compte(n: int, forms: str) -> str:
    """`run.created|compte:"ligne créée|lignes créées|aucune ligne créée"` — a count with its noun agreed."""
    return count_fr(int(n or 0), forms)


@register.filter
def probabilite(p: float) -> str:
    """A duplicate pair's match probability (« 99,93 % »), not rounded to a meaningless « 100 % »."""
    return probability_fr(float(p or 0))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`counts|get_item:code` — a dict's value in a template."""
    return mapping.get(key) if hasattr(mapping, "get") else None
