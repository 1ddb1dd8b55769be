"""Journey pages: the journeys of the agent's service with their funnel, the instances, one instance's
timeline with the takeover actions, the task inbox, and new versions of a definition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.accounts.domain import AccessDenied, Role
from proactif.journeys import domain, services
from proactif.journeys.forms import DefinitionForm, InstanceFilterForm, TakeoverForm, TaskForm
from proactif.journeys.models import AgentTask, JourneyDefinition, JourneyInstance
from proactif.kernel import clock, tables
from proactif.messaging import services as messaging
from proactif.registry import services as registry

EDITORS = (Role.RESPONSABLE, Role.ADMIN)


def _definition(request: HttpRequest, key: str) -> JourneyDefinition:
    try:
        definition = services.definition_by_key(key)
        services.check_service(request.actor, definition)
    except JourneyDefinition.DoesNotExist:
        raise Http404("parcours inconnu") from None
    return definition


@require_GET
def journeys(request: HttpRequest) -> HttpResponse:
    rows = [(d, services.funnel(d.key)) for d in services.visible_definitions(request.actor)]
    return render(request, "journeys/list.html", {
        "rows": rows, "tasks": services.open_tasks(request.actor.service).count(),
        "can_edit": request.actor.role in EDITORS})


def _named(access: Any, list_name: str) -> Callable[[list[Any], str], list[Any]]:
    """A table's `prepare` for rows about residents (instances, tasks): the list logged, and each row's `name`
    where the agent's purpose opens identities (a logged read too; empty otherwise)."""

    def prepare(rows: list[Any], action: str) -> list[Any]:
        services.log_person_list(access, [r.person_id for r in rows], list_name)
        try:
            names = registry.names_for(access, [r.person_id for r in rows], action)
        except AccessDenied:
            names = {}
        for row in rows:
            row.name = names.get(row.person_id, "")
        return rows

    return prepare


INSTANCE_COLUMNS = (
    tables.Column("parcours", "Parcours"), tables.Column("habitant", "Habitant"), tables.Column("etape", "Étape"),
    tables.Column("etat", "État"), tables.Column("reveil", "Prochain réveil", sort="next_wake_at"),
    tables.Column("entree", "Entré le", sort="entered_at"), tables.Column("version", "Version"),
)


@require_GET
def journey(request: HttpRequest, key: str) -> HttpResponse:
    definition = _definition(request, key)
    nodes = [(name, node.get("label", name)) for name, node in definition.spec["nodes"].items()]
    form = InstanceFilterForm(request.GET or None, nodes=nodes)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = services.instances(key, filters.get("node") or "", filters.get("status") or "")
    if filters.get("person"):
        rows = rows.filter(person_id=filters["person"])
    table = tables.Table(request, rows, INSTANCE_COLUMNS, caption="Parcours de ces habitants",
                         default_sort="-entree", count="parcours|parcours|aucun parcours",
                         prepare=_named(request.access, "instances"))
    funnel = services.funnel(key)
    labels = dict(nodes)
    top = max([n["visited"] for n in funnel["nodes"]] + [1])
    for row in funnel["nodes"]:
        row["label"] = labels.get(row["node"], row["node"])
        kind = definition.spec["nodes"][row["node"]]["type"] if row["node"] in definition.spec["nodes"] else ""
        row["type"] = domain.NODE_TYPE_LABELS.get(kind, kind)
        row["width"] = round(100 * row["visited"] / top)
    return render(request, "journeys/journey.html", {
        "d": definition, "funnel": funnel, "form": form, "table": table, "labels": labels,
        "versions": services.definitions().filter(key=key).order_by("-version"),
        "can_edit": request.actor.role in EDITORS,
        "messages_by_status": messaging.counts_by_channel_and_status(f"journey:{key}"[:50]),
        "statuses": messaging.OUTBOX_STATUSES})


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    actor = request.actor
    current = _definition(request, key) if key else None
    draft = services.definitions().filter(key=key, status="draft").first() if key else None
    source = (draft or current).source if (draft or current) else ""
    form = DefinitionForm(request.POST or None, initial={"source": source})
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            spec = services.compile_source(form.cleaned_data["source"])
            if actor.service is not None and spec["service"] != actor.service:
                raise services.DefinitionError([f"service « {spec['service']} » : vous ne pouvez créer que des "
                                                f"parcours de votre service ({actor.service})"])
            if key and spec["key"] != key:
                raise services.DefinitionError([f"la clé doit rester « {key} » (une autre clé crée un autre parcours)"])
            saved = services.save_definition(form.cleaned_data["source"], author=actor.label,
                                             publish=request.POST.get("action") == "publish")
        except services.DefinitionError as exc:
            problems = exc.messages
        else:
            if saved.status == "published":
                messages.success(request, f"Version {saved.version} publiée : les nouvelles entrées la suivent, les "
                                          "parcours en cours restent sur leur version.")
            else:
                messages.success(request, f"Brouillon de la version {saved.version} enregistré et vérifié.")
            return redirect("journeys:journey", key=saved.key)
    return render(request, "journeys/edit.html", {"form": form, "d": current, "draft": draft, "problems": problems},
                  status=400 if request.method == "POST" else 200)


@require_GET
def instance(request: HttpRequest, instance_id: int) -> HttpResponse:
    access = request.access
    row = _instance_or_404(access, instance_id)
    return render(request, "journeys/instance.html", _instance_context(row, _takeover_form(row)))


def _instance_or_404(access: Any, instance_id: int) -> JourneyInstance:
    try:
        return services.get_instance(access, instance_id)
    except JourneyInstance.DoesNotExist:
        raise Http404("parcours inconnu") from None
    except AccessDenied as exc:
        raise PermissionDenied(str(exc)) from exc


def _takeover_form(row: JourneyInstance, data: Any = None) -> TakeoverForm:
    nodes = [(name, node.get("label", name)) for name, node in row.definition.spec["nodes"].items()]
    return TakeoverForm(data, nodes=nodes, templates=services.takeover_templates())


def _instance_context(row: JourneyInstance, form: TakeoverForm) -> dict[str, Any]:
    nodes = row.definition.spec["nodes"]
    return {"i": row, "node_label": nodes.get(row.node, {}).get("label", row.node), "form": form,
            "timeline": services.timeline(row), "live": row.status in JourneyInstance.LIVE,
            "tasks": row.tasks.order_by("-created_at")}


@require_POST
def takeover(request: HttpRequest, instance_id: int) -> HttpResponse:
    access = request.access
    row = _instance_or_404(access, instance_id)
    form = _takeover_form(row, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.takeover(access, row.pk, data["action"], data["reason"], template=data.get("template") or "",
                              channel=data.get("channel") or "", text=data.get("text") or "", at=data.get("at"),
                              node=data.get("node") or "")
        except services.TakeoverError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, TAKEOVER_DONE[data["action"]])
            return redirect("journeys:instance", instance_id=row.pk)
    return render(request, "journeys/instance.html", _instance_context(row, form), status=400)


TAKEOVER_DONE = {"pause": "Parcours mis en pause : aucun message ne partira avant la reprise.",
                 "resume": "Parcours repris.", "send": "Message mis en file d'envoi.",
                 "reminder": "Relance programmée.", "jump": "Parcours déplacé : l'étape s'exécute maintenant.",
                 "exit": "Parcours arrêté."}


TASK_COLUMNS = (
    tables.Column("echeance", "Échéance", sort="due_at"), tables.Column("tache", "Tâche"),
    tables.Column("habitant", "Habitant"), tables.Column("parcours", "Parcours"),
    tables.Column("clore", "Clore", export=False),
)


@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = TaskForm(request.POST or None)
    if request.method == "POST":
        task_id = request.POST.get("task", "")
        if form.is_valid() and task_id.isdigit() and len(task_id) <= 18:
            try:
                services.complete_task(request.access, int(task_id), form.cleaned_data["note"])
            except (services.TakeoverError, AgentTask.DoesNotExist, AccessDenied) as exc:
                messages.error(request, f"Tâche non close : {exc}")
            else:
                messages.success(request, "Tâche close ; le parcours continue.")
                return redirect("journeys:tasks")
        else:
            messages.error(request, "Tâche non close : indiquez la tâche et le compte rendu.")
    table = tables.Table(request, services.open_tasks(actor.service), TASK_COLUMNS, per_page=30,
                         caption="Tâches à faire, les plus urgentes d'abord", default_sort="echeance",
                         count="tâche à faire|tâches à faire|aucune tâche à faire",
                         prepare=_named(request.access, "tasks"))
    return render(request, "journeys/tasks.html", {"table": table, "form": TaskForm(), "now": clock.now()},
                  status=400 if request.method == "POST" else 200)
