"""Newsletter editions, the editors' side (issue 20, part C): compose an edition from published pages, choose its
lists, preview it, send it. Editors see counts of subscribers, never their addresses."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.assist import _newsletter as newsletter
from proactif.assist._rules import EDITORS
from proactif.assist.models import Edition, Subscriber, Theme
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.kernel.capabilities import Route, route


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and len(v) <= 18]


@require_http_methods(["GET", "POST"])
def editions(request: HttpRequest) -> HttpResponse:
    context = {"editions": Edition.objects.order_by("-created_at")[:50],
               "active": Subscriber.objects.filter(status=Subscriber.ACTIVE).count()}
    if request.method == "POST":
        title = request.POST.get("titre", "").strip()
        if not title or len(title) > 150:
            return render(request, "assist/editions.html", {
                **context, "error": "Donnez un titre de 150 caractères au plus à la lettre.", "title": title[:150]},
                status=400)
        made = Edition.objects.create(title=title, created_at=clock.now(), created_by=request.user.get_username()[:150])
        return HttpResponseRedirect(reverse("redaction:edition", args=[made.pk]))
    return render(request, "assist/editions.html", context)


@require_http_methods(["GET", "POST"])
def edition(request: HttpRequest, edition_id: int) -> HttpResponse:
    chosen = get_object_or_404(Edition, pk=edition_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            newsletter.compose(chosen, request.POST.get("titre", ""), request.POST.get("introduction", ""),
                               _ids(request.POST.getlist("pages")), request.POST.getlist("listes"))
            return HttpResponseRedirect(reverse("redaction:edition_preview", args=[chosen.pk]))
        except newsletter.Refused as exc:
            errors[exc.field] = str(exc)
    query = request.GET.get("q", "")[:100]
    selected = list(chosen.blocks.values_list("page_id", flat=True))
    pages = newsletter.published_pages(query)
    known = {p.pk for p in pages}
    pages = [*newsletter.pages_by_id([i for i in selected if i not in known]).values(), *pages]
    return render(request, "assist/editions_compose.html", {
        "edition": chosen, "pages": pages, "selected": set(selected), "themes": list(Theme.objects.all()),
        "lists": set(chosen.lists.values_list("slug", flat=True)), "errors": errors, "query": query,
    }, status=400 if errors else 200)


@require_GET
def preview(request: HttpRequest, edition_id: int) -> HttpResponse:
    chosen = get_object_or_404(Edition, pk=edition_id)
    blocks = newsletter.blocks_of(chosen)
    theme = request.GET.get("theme", "")
    order = newsletter.ordered(blocks, {theme: 1.0}) if theme else blocks
    return render(request, "assist/editions_preview.html", {
        "edition": chosen, "text": newsletter.render_text(chosen, order, None), "themes": list(Theme.objects.all()),
        "theme": theme, "recipients": len(newsletter.recipients(chosen)), "blocks": blocks,
    })


@require_POST
def send(request: HttpRequest, edition_id: int) -> HttpResponse:
    chosen = get_object_or_404(Edition, pk=edition_id)
    try:
        figures = newsletter.send_edition(chosen)
    except newsletter.Refused as exc:
        return render(request, "assist/editions_preview.html", {
            "edition": chosen, "text": "", "error": str(exc), "themes": [], "recipients": 0, "blocks": []},
            status=400)
    # The addresses are read to be written in the outbox, not shown: the sending is kept in the access log
    audit.record(request.actor, "send", purpose=newsletter.PURPOSE,  # type: ignore[attr-defined]
                 detail={"lettre": chosen.pk, "destinataires": figures["destinataires"]})
    return HttpResponseRedirect(reverse("redaction:edition_preview", args=[chosen.pk]) + "?envoyee=1")


ROUTES: tuple[Route, ...] = (
    route("lettres/", editions, EDITORS, "editions"),
    route("lettres/<id:edition_id>/", edition, EDITORS, "edition"),
    route("lettres/<id:edition_id>/apercu/", preview, EDITORS, "edition_preview"),
    route("lettres/<id:edition_id>/envoyer/", send, EDITORS, "edition_send"),
)
