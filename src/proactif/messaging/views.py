"""Messaging pages: citizen links, the outbox and delivery statistics, templates (editor, SMS counter,
preview), the test inbox of the built-in sinks and the letter batches for the print shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.accounts.domain import AccessDenied, Role
from proactif.kernel import clock, tables
from proactif.messaging import _templating as templating
from proactif.messaging import services
from proactif.messaging.domain import redact_contacts
from proactif.messaging.forms import OutboxFilterForm, PreviewForm, TemplateForm
from proactif.messaging.models import LetterBatch, OutboxMessage, Template

EDITORS = (Role.RESPONSABLE, Role.ADMIN)


# --- citizens -------------------------------------------------------------------------------
@require_GET
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """A link from a message: checked, counted as engagement, remembered in the citizen's session (so the
    token leaves the address bar) and followed to the page it was made for."""
    try:
        opened = services.open_link(token, channel=request.GET.get("c", ""))
    except services.LinkError as exc:
        return render(request, "messaging/link_error.html", {"error": str(exc)}, status=410)
    services.remember_link(request.session, opened.link)
    request.session.cycle_key()
    return redirect(opened.target)


# --- Web Push for citizens: the browser subscribes from a page reached by their link ----------
SERVICE_WORKER = """// Proactif: shows the town hall's notifications; a click opens the page they point to.
self.addEventListener("push", (event) => {
  const data = event.data ? event.data.json() : {};
  event.waitUntil(self.registration.showNotification(data.title || "Votre mairie",
    {body: data.body || "", tag: data.tag || undefined, data: {url: data.url || "/"}}));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data.url || "/"));
});
"""
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@require_GET
def push_key(request: HttpRequest) -> HttpResponse:
    from django.http import JsonResponse

    return JsonResponse({"publicKey": services.push_public_key()})


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(SERVICE_WORKER, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_POST
def push_subscribe(request: HttpRequest) -> HttpResponse:
    """A browser's push subscription (the Push API's JSON), for the resident of the session's link."""
    import json

    from django.http import JsonResponse

    person_id = request.citizen_link.person_id
    try:
        data = json.loads(request.body)
        endpoint, p256dh, auth = str(data["endpoint"]), str(data["keys"]["p256dh"]), str(data["keys"]["auth"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "abonnement illisible : endpoint et keys.p256dh, keys.auth attendus"}, status=400)
    if not services.push_endpoint_allowed(endpoint):
        return JsonResponse({"error": "adresse du service de notification invalide : seuls les services de "
                                      "notification des navigateurs sont acceptés"}, status=400)
    if not (set(p256dh) <= _B64URL and set(auth) <= _B64URL and 80 <= len(p256dh) <= 100 and 16 <= len(auth) <= 30):
        return JsonResponse({"error": "clés de chiffrement invalides"}, status=400)
    services.subscribe_push(person_id, endpoint, p256dh, auth)
    return JsonResponse({"ok": True}, status=201)


# --- outbox and statistics ------------------------------------------------------------------
def _mask(recipient: str) -> str:
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}•••@{domain}"
    if recipient.startswith("+"):
        return f"{recipient[:4]} •• •• •• {recipient[-2:]}"
    return "•••" if recipient else ""


OUTBOX_COLUMNS = (
    tables.Column("cree", "Créé", sort="created_at", value="created_at"),
    tables.Column("modele", "Modèle", value="template_name"),
    tables.Column("habitant", "Habitant (n°)", value="person_id"),
    tables.Column("canal", "Canal", value=lambda m: services.CHANNEL_LABELS.get(m.channel, m.channel)),
    tables.Column("destinataire", "Destinataire", value="masked"),
    tables.Column("priorite", "Priorité", value=lambda m: m.get_lane_display()),
    tables.Column("etat", "État", value=lambda m: m.get_status_display()),
    tables.Column("detail", "Détail", value="detail"),
)


@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    form = OutboxFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = services.outbox_messages(**{k: v for k, v in filters.items() if v},
                                    service=services.service_scope(request.access))
    access, names = request.access, services.template_names()

    def prepare(messages: list[OutboxMessage], action: str) -> list[OutboxMessage]:
        for message in messages:
            message.masked = _mask(message.recipient)  # type: ignore[attr-defined]
            message.detail = redact_contacts(message.error)  # type: ignore[attr-defined]
            message.template_name = names.get(message.template_key, message.template_key)  # type: ignore[attr-defined]
        services.record_outbox_view(access, [m.person_id for m in messages], action)
        return messages

    table = tables.Table(request, rows, OUTBOX_COLUMNS, caption="File d'envoi", default_sort="-cree",
                         export="messages", count="message|messages|aucun message", prepare=prepare)
    if table.export_requested:
        return table.csv_response()
    return render(request, "messaging/outbox.html", {
        "form": form, "table": table, "stats": services.delivery_stats(), "statuses": OutboxMessage.STATUS,
        "chart": services.deliveries_chart(services.service_scope(access)),
        "now": clock.now()})


@require_GET
def message(request: HttpRequest, message_id: int) -> HttpResponse:
    try:
        row = services.read_message(request.access, message_id)
    except OutboxMessage.DoesNotExist:
        raise Http404("message inconnu") from None
    except AccessDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    return render(request, "messaging/message.html", {"m": row, "receipts": row.receipts.order_by("received_at")})


# --- templates ------------------------------------------------------------------------------
@require_GET
def templates(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/templates.html", {"templates": services.templates(),
                                                        "can_edit": request.actor.role in EDITORS})


def _errors_by_field(exc: templating.TemplateError) -> list[str]:
    return list(exc.messages)


@require_GET
def template_show(request: HttpRequest, template_id: int) -> HttpResponse:
    """A template's version, its SMS counter and the preview (every agent); editors also get the form that
    saves a new version (`template_save`)."""
    return template_edit(request, template_id)


@require_POST
def template_save(request: HttpRequest, template_id: int) -> HttpResponse:
    return template_edit(request, template_id)


@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    """A new template (editors), or a version shown (GET) and saved as the next one (POST, editors): the routes
    declare who may do which."""
    current: Template | None = None
    if template_id is not None:
        try:
            current = services.get_template(template_id)
        except Template.DoesNotExist:
            raise Http404("modèle inconnu") from None
    can_edit = request.actor.role in EDITORS
    initial = ({"key": current.key, "channel": current.channel, "language": current.language, "name": current.name,
                "subject": current.subject, "body": current.body} if current else {"language": "fr"})
    form = TemplateForm(request.POST or None, initial=initial)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.save_template(data["key"], data["channel"], data["body"], subject=data["subject"],
                                           language=data["language"], name=data["name"],
                                           author=request.actor.label,
                                           publish=request.POST.get("action") == "publish")
        except templating.TemplateError as exc:
            problems = _errors_by_field(exc)
            form.add_error("body", problems)
        else:
            messages.success(request, f"Version {saved.version} {'publiée' if saved.status == 'published' else
                                                                'enregistrée en brouillon'}.")
            return redirect("messaging:template", template_id=saved.pk)
    sms = services.sms_info(current.body if current else "") if (current and current.channel == "sms") else None
    return render(request, "messaging/template_edit.html", {
        "form": form, "t": current, "can_edit": can_edit, "sms": sms, "preview_form": PreviewForm(),
        "versions": services.template_versions(current.key) if current else [],
        "catalogue": sorted(services.catalogue().items())}, status=400 if request.method == "POST" else 200)


@require_POST
def publish(request: HttpRequest, template_id: int) -> HttpResponse:
    try:
        template = services.publish_template(template_id)
    except Template.DoesNotExist:
        raise Http404("modèle inconnu") from None
    messages.success(request, f"Version {template.version} publiée : c'est elle qui part désormais.")
    return redirect("messaging:template", template_id=template.pk)


@require_GET
def sms_counter(request: HttpRequest) -> HttpResponse:
    """The SMS length, encoding and segment count of the text being typed (HTMX; reads and writes nothing)."""
    return render(request, "messaging/_sms_counter.html", {"sms": services.sms_info(request.GET.get("body", ""))})


@require_POST
def preview(request: HttpRequest, template_id: int) -> HttpResponse:
    form = PreviewForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "messaging/_preview.html", context, status=400)
    try:
        context["rendered"], context["examples"] = services.preview(request.access, template_id,
                                                                    form.cleaned_data["person_id"])
    except Template.DoesNotExist:
        raise Http404("modèle inconnu") from None
    except templating.MissingData as exc:
        context["error"] = str(exc)
    except AccessDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    return render(request, "messaging/_preview.html", context)


# --- test inbox (sinks) and letters ---------------------------------------------------------
SINK_COLUMNS = (
    tables.Column("recu", "Reçu le", sort="received_at"), tables.Column("canal", "Canal"),
    tables.Column("prestataire", "Prestataire"), tables.Column("destinataire", "Destinataire"),
    tables.Column("message", "Message"), tables.Column("envois", "Reçu"),
)


@require_GET
def sink(request: HttpRequest) -> HttpResponse:
    channel = request.GET.get("canal", "")
    query = request.GET.get("q", "").strip()
    access = request.access

    def prepare(rows: list[Any], action: str) -> list[Any]:
        services.record_sink_view(access, channel, query, [m.idempotency_key for m in rows])
        return rows

    table = tables.Table(request, services.sink_messages(channel, query, service=services.service_scope(access)),
                         SINK_COLUMNS, per_page=30, caption="Messages reçus par les prestataires intégrés",
                         default_sort="-recu", count="message reçu|messages reçus|aucun message reçu", prepare=prepare)
    return render(request, "messaging/sink.html", {
        "table": table, "channel": channel, "q": query, "enabled": settings.SINKS,
        "letters": LetterBatch.objects.order_by("-created_at")[:20],
        "sink_stats": services.sink_stats()})


@require_GET
def letter_batch(request: HttpRequest, batch_id: int, kind: str) -> HttpResponse:
    batch = LetterBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise Http404("lot inconnu")
    path = Path(batch.pdf if kind == "pdf" else batch.manifest)
    if not path.is_file():
        raise Http404("fichier absent")
    services.record_letter_download(request.access, batch.pk, Path(batch.manifest))
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name,
                        content_type="application/pdf" if kind == "pdf" else "text/csv")
