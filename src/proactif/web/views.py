from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from proactif import __version__
from proactif.kernel import clock, metrics
from proactif.registry import services as registry
from proactif.web._identity import stylesheet


def _home_blocks(request: HttpRequest) -> list[dict[str, Any]]:
    """The blocks capabilities declare for the home page that this agent's role and purposes open, each built for
    the purpose the page it leads to would give them; a block leading to an exclusive page shows only while the
    agent acts for its purpose (its navigation entry stays: the agent may switch)."""
    from proactif.accounts import services as accounts
    from proactif.accounts.domain import Access
    from proactif.kernel import capabilities
    from proactif.kernel.capabilities import AgentRule

    actor = request.actor  # type: ignore[attr-defined]
    chosen = request.session.get(accounts.SESSION_PURPOSE)
    blocks = []
    for block, rule in capabilities.home_blocks():
        if not (isinstance(rule, AgentRule) and rule.admits(actor.role, actor.purposes, chosen)):
            continue
        purpose = rule.purpose_for(actor.purposes, chosen)
        data = block.build(Access(actor, purpose) if purpose else None)
        if data is not None:
            blocks.append({"title": block.title, "url": reverse(block.url_name), "template": block.template,
                           "data": data})
    return blocks


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    figures = registry.dashboard_figures()
    metrics.REGISTRY_PERSONS.set(figures["residents"])
    residents = figures["residents"] or 1
    context: dict[str, Any] = {
        "figures": figures,
        "email_share": round(100 * figures["with_email"] / residents),
        "mobile_share": round(100 * figures["with_mobile"] / residents),
        "pyramid_json": json.dumps(figures["age_pyramid"]),
        "today": clock.today(),
        "simulated": clock.system_clock().offset().total_seconds() > 0,
        "computed_at": datetime.fromisoformat(figures["computed_at"]).astimezone(clock.local_tz()),
        "blocks": _home_blocks(request),
    }
    return render(request, "web/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Any] = {"version": __version__, "database": connection.vendor}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["db"] = "ok"
    except Exception as exc:  # the probe reports what failed rather than a stack trace
        checks["db"] = f"error: {type(exc).__name__}"
        status = 503
    if settings.BROKER_URL:
        checks["broker"] = _broker_status()
        if checks["broker"] != "ok":
            status = 503
    checks["executor"] = "celery" if settings.BROKER_URL else "embedded"
    checks["now"] = clock.now().isoformat()
    checks["status"] = "ok" if status == 200 else "degraded"
    return JsonResponse(checks, status=status)


def _broker_status() -> str:
    from kombu import Connection

    try:
        with Connection(settings.BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Who gets here is the declaration's business: an administrator, or the PROACTIF_METRICS_TOKEN bearer."""
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


@require_GET
@cache_control(max_age=3600, public=True)
def identity_css(request: HttpRequest) -> HttpResponse:
    return HttpResponse(stylesheet(settings.PRIMARY_COLOR, settings.STATE_IDENTITY), content_type="text/css")


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """The collectivité's initial on its colour (the State's favicon only with the State identity)."""
    from django.utils.html import escape

    initial = escape((settings.COLLECTIVITE_NAME.replace("Ville de ", "").strip() or "P")[0].upper())
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" '
           f'fill="{escape(settings.PRIMARY_COLOR)}"/><text x="32" y="45" font-family="Arial,sans-serif" '
           f'font-size="40" font-weight="700" text-anchor="middle" fill="#fff">{initial}</text></svg>')
    return HttpResponse(svg, content_type="image/svg+xml")


@require_GET
@cache_control(max_age=86400, public=True)
def logo(request: HttpRequest) -> HttpResponse:
    from pathlib import Path

    if not settings.COLLECTIVITE_LOGO:
        return HttpResponse(status=404)
    path = Path(settings.COLLECTIVITE_LOGO)
    content_type = "image/svg+xml" if path.suffix.lower() == ".svg" else "image/png"
    return HttpResponse(path.read_bytes(), content_type=content_type)


# --- the pages every public page links to ----------------------------------------------------------------------
def _public_page(request: HttpRequest, template: str, **context: Any) -> HttpResponse:
    return render(request, template, {"address": settings.COLLECTIVITE_ADDRESS, "dpo": settings.DPO_CONTACT,
                                      "director": settings.PUBLICATION_DIRECTOR, "hosting": settings.HOSTING,
                                      **context})


@require_GET
def legal_notice(request: HttpRequest) -> HttpResponse:
    return _public_page(request, "web/legal_notice.html")


@require_GET
def personal_data(request: HttpRequest) -> HttpResponse:
    from proactif.registry.domain import COMMUNICATION_PURPOSES

    return _public_page(request, "web/personal_data.html", purposes=list(COMMUNICATION_PURPOSES.values()))


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    return _public_page(request, "web/accessibility.html")
