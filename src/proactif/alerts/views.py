"""Alerts in the agent interface — the map (draw, count, send), an incident's page (updates, resolution,
delivery per channel, answers, CAP) — the public Atom feed and CAP documents, and the resident's "are you
safe?" page reached from the alert's link."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.accounts import services as accounts
from proactif.alerts import _feeds as feeds
from proactif.alerts import services
from proactif.geo import services as geo
from proactif.kernel import capabilities, tables
from proactif.kernel.ids import parse_id
from proactif.registry import services as registry


def _target(data: dict[str, Any]) -> tuple[geo.Target, list[dict[str, Any]]]:
    """The target a form or the map posts: `areas` (GeoJSON FeatureCollection), `voies`, `quartiers` (ids)."""
    features = services.features_of(data["areas"]) if data.get("areas") else []
    return geo.Target.of(features, _ids(data.get("voies")), _ids(data.get("quartiers")),
                         _ids(data.get("adresses"))), features


def _ids(values: Any) -> list[int]:
    """Ids posted as a list (of numbers or digits): ValueError for anything else."""
    ids = [parse_id(v) for v in values or []] if isinstance(values, list | tuple) or not values else [None]
    if None in ids:
        raise ValueError("identifiant invalide")
    return [i for i in ids if i is not None]


def _posted(request: HttpRequest) -> dict[str, Any]:
    """The posted target and texts (JSON from the map, or a form); ValueError when unreadable."""
    if request.content_type == "application/json":
        data = _json(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("un objet JSON est attendu")
        return data
    out: dict[str, Any] = {k: request.POST.get(k, "") for k in request.POST}
    out["voies"] = request.POST.getlist("voies")
    out["quartiers"] = request.POST.getlist("quartiers")
    out["areas"] = _json(request.POST["areas"]) if request.POST.get("areas") else None
    return out


def _json(text: str | bytes) -> Any:
    """JSON text; ValueError when unreadable (nesting past the parser's depth included)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("imbrication trop profonde") from None


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


def _home(request: HttpRequest, status: int = 200) -> HttpResponse:
    types = services.types()
    return render(request, "alerts/home.html", {
        "incidents": services.incidents(), "types": types, "quartiers": registry.quartiers(),
        "examples": services.message_examples(services.Draft(types[0][0], "", [], [], [], []), {}),
        "basemap": bool(settings.MAP_PMTILES), "basemap_attribution": settings.MAP_ATTRIBUTION,
        "channel_labels": json.dumps({code: c.label for code, c in capabilities.channels(sent=True).items()})},
        status=status)


@require_POST
def count(request: HttpRequest) -> JsonResponse:
    """The live count while drawing: addresses, residents, and what the send would do for them now — per
    channel the messages that would leave on it, those cancelled and why — for the alert's type (its channels)
    and, for an exercise, the test contacts; the streets selected."""
    try:
        data = _posted(request)
        target, _ = _target(data)
        if target.is_empty():
            return JsonResponse({"error": "Aucune zone choisie"}, status=400)
        reach = services.preview(target, str(data.get("type") or "autre"), bool(data.get("exercice")))
    except (ValueError, KeyError, TypeError, geo.AreaError) as exc:  # IncidentError (unknown type) included
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(reach.summary())


@require_POST
def messages_preview(request: HttpRequest) -> HttpResponse:
    """The alert's message on each of its channels as residents will receive it (an HTML fragment the form
    shows while the agent writes): the form's type, title, texts, area and exercise box."""
    error, found, data = "", [], {}
    try:
        data = _posted(request)
        try:
            target, features = _target(data)
        except (ValueError, KeyError, TypeError, geo.AreaError):
            target, features = geo.Target(), []  # the area's name only: its own errors are the count's
        if not data.get("type"):
            raise ValueError("type d’incident manquant")
        draft = services.Draft(str(data["type"]), str(data.get("titre") or ""), features,
                               target.voie_ids, target.quartier_ids, target.address_ids,
                               exercise=bool(data.get("exercice")))
        found = services.message_examples(draft, {"fr": str(data.get("texte") or ""),
                                                  "en": str(data.get("texte_en") or "")})
    except ValueError as exc:  # an unknown type, unreadable JSON, a template that cannot render
        error = str(exc)
    return render(request, "alerts/_messages.html", {
        "examples": found, "error": error, "written": bool(str(data.get("texte") or "").strip())},
        status=400 if error else 200)


@require_GET
def streets(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"streets": [{"id": pk, "nom": nom} for pk, nom in geo.streets_matching(
        request.GET.get("q", ""))]})


@require_GET
def layers(request: HttpRequest, name: str) -> JsonResponse:
    """Base layers for the map, served by the platform (no tile server, no internet)."""
    if name == "quartiers":
        return JsonResponse(registry.quartier_layer())
    if name == "adresses":
        return JsonResponse(geo.layer_addresses())
    if name == "commune":
        return JsonResponse(feeds.commune_outline())
    if name == "rues":
        return JsonResponse(geo.street_layer())
    raise Http404(name)


@require_GET
def basemap(request: HttpRequest) -> HttpResponse:
    """The optional local PMTiles basemap, by byte ranges (how the PMTiles reader fetches its directories and
    tiles): `Range: bytes=START-END` answers 206 with those bytes."""
    path = settings.MAP_PMTILES
    if not path or not os.path.isfile(path):
        raise Http404("pas de fond de carte local (PROACTIF_MAP_PMTILES)")
    size = os.path.getsize(path)
    wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("Range", "").strip())
    if wanted is None:
        response: HttpResponse = FileResponse(open(path, "rb"), content_type="application/octet-stream")  # noqa: SIM115
        response["Accept-Ranges"] = "bytes"
        return response
    start = int(wanted.group(1))
    end = min(int(wanted.group(2)) if wanted.group(2) else size - 1, size - 1)
    if start >= size or end < start:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    with open(path, "rb") as file:
        file.seek(start)
        body = file.read(end - start + 1)
    response = HttpResponse(body, status=206, content_type="application/octet-stream")
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
def create(request: HttpRequest) -> HttpResponse:
    access = request.access
    errors: dict[str, str] = {}
    try:
        data = _posted(request)
    except ValueError as exc:
        return JsonResponse({"errors": {"form": f"corps illisible : {exc}"}}, status=400)
    try:
        target, features = _target(data)
    except (ValueError, KeyError, TypeError, geo.AreaError) as exc:
        errors["areas"] = str(exc)
        target, features = geo.Target(), []
    texts = {"fr": data.get("texte", ""), "en": data.get("texte_en", "")}
    if not errors:
        try:
            incident, result = services.open_incident(access.actor, services.Draft(
                data.get("type", ""), data.get("titre", ""), features, target.voie_ids, target.quartier_ids,
                target.address_ids, exercise=bool(data.get("exercice"))), texts)
        except services.IncidentError as exc:
            errors["form"] = str(exc)
    if errors:
        if request.content_type == "application/json":
            return JsonResponse({"errors": errors}, status=400)
        for message in errors.values():
            messages.error(request, message)
        return _home(request, status=400)
    if result.get("approval_required"):
        messages.warning(request, f"L'alerte ({result['recipients']} habitants) attend la validation d'un "
                                  "second agent.")
    else:
        messages.success(request, f"Alerte envoyée à {result['recipients']} habitants.")
    if request.content_type == "application/json":
        return JsonResponse({**result, "url": f"/alertes/{incident.pk}/"}, status=201)
    return redirect("alerts:incident", incident_id=incident.pk)


ANSWER_COLUMNS = (
    tables.Column("personne", "Personne", value="nom"),
    tables.Column("reponse", "Réponse", value="reponse"),
    tables.Column("recue", "Reçue le", value="answered_at", shown=False),
    tables.Column("canal", "Canal de la réponse", value="canal", shown=False),
    tables.Column("telephone", "Téléphone", value="telephone"),
    tables.Column("message", "Message", value="note"),
    tables.Column("suivi", "Suivi", value=lambda a: f"traité par {a['handled_by']}" if a["handled_at"] else ""),
)


@require_http_methods(["GET", "POST"])
def incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    access = request.access
    try:
        item = services.get(incident_id)
    except LookupError as exc:
        raise Http404(str(exc)) from None
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("mise_a_jour", "fin"):
                result = services.send(access.actor, incident_id, action,
                                       {"fr": request.POST.get("texte", ""), "en": request.POST.get("texte_en", "")})
                messages.success(request, f"Message envoyé à {result['recipients']} habitants.")
            elif action == "valider":
                result = services.approve(access.actor, incident_id)
                messages.success(request, f"Alerte validée et envoyée à {result['recipients']} habitants.")
            elif action == "etendre":
                quartiers = [parse_id(q) for q in request.POST.getlist("quartiers")]
                if None in quartiers:
                    raise services.IncidentError("quartier inconnu")
                services.add_area(access.actor, incident_id, [], quartier_ids=quartiers)
                messages.success(request, "Zone étendue : ses habitants recevront le prochain message et les "
                                          "suivants.")
            elif action == "clore":
                services.close(access.actor, incident_id)
                messages.success(request, "Incident clos.")
            elif action == "traite":
                services.mark_handled(access.actor, incident_id, parse_id(request.POST.get("person")) or 0)
            else:
                raise services.IncidentError("action inconnue")
            return redirect("alerts:incident", incident_id=incident_id)
        except services.IncidentError as exc:
            error = str(exc)
    if request.method == "GET" and request.GET.get("live"):  # the part that refreshes itself: no one named
        return render(request, "alerts/_delivery.html", {"incident": item, "stats": services.stats(item)})
    table = tables.Table(request, services.answer_rows(item), ANSWER_COLUMNS,
                         caption="Les personnes qui ont besoin d'aide d'abord", per_page=50,
                         export=f"reponses-incident-{item.pk}", count="réponse|réponses|aucune réponse",
                         prepare=lambda rows, action: services.describe_answers(access, item, rows, action))
    if table.export_requested:
        return table.csv_response()
    answers = table.page
    return render(request, "alerts/incident.html", {
        "table": table, "answers_chart": services.answers_chart(item),
        "incident": item, "messages_sent": services.messages_of(item), "stats": services.stats(item),
        "quartiers": registry.quartiers(),
        "answers": answers, "error": error, "type": dict(services.types()).get(item.type_code, item.type_code),
        "can_approve": item.status == "a_valider" and access.actor.label != item.approval_requested_by},
        status=400 if error else 200)


# --- public: CAP and the Atom feed of active alerts --------------------------------------------------------
@require_GET
def cap(request: HttpRequest, incident_id: int, seq: int) -> HttpResponse:
    # An exercise's documents are not published (404, like an unknown message), except to the agents running it
    public = not (request.user.is_authenticated
                  and accounts.actor_for_agent(request.user).can_use(services.PURPOSE))  # type: ignore[arg-type]
    try:
        xml = feeds.cap_document(incident_id, seq, public=public)
    except LookupError as exc:
        raise Http404(str(exc)) from None
    return HttpResponse(xml, content_type="application/cap+xml; charset=utf-8")


@require_GET
def atom(request: HttpRequest) -> HttpResponse:
    return HttpResponse(feeds.atom_feed(), content_type="application/atom+xml; charset=utf-8")


# --- the resident's page -----------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def reponse(request: HttpRequest) -> HttpResponse:
    link = request.citizen_link
    incident_id = int(link.payload.get("incident", 0))
    try:
        item = services.get(incident_id)
    except LookupError:
        raise Http404("incident inconnu") from None
    error = ""
    if request.method == "POST":
        answer = request.POST.get("reponse", "")
        try:
            if services.record_answer(link.person_id, answer, "lien", request.POST.get("note", ""),
                                      incident_id) is None:
                raise services.IncidentError("cet incident est terminé")
            messages.success(request, "Merci, votre réponse est transmise à la mairie." if answer == "en_securite"
                             else "Votre demande d'aide est transmise : un agent va vous contacter.")
            return redirect("alertes-portail:reponse")
        except services.IncidentError as exc:
            error = str(exc)
    last = services.messages_of(item).last()
    return render(request, "alerts/reponse.html", {
        "incident": item, "last": last, "type": dict(services.types()).get(item.type_code, ""), "error": error},
        status=400 if error else 200)
