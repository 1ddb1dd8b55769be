"""Journeys: versioned definitions, instances and their engine, agent takeover, the task inbox."""

from proactif.accounts.domain import OPERATIONAL_PURPOSES, Role, Section
from proactif.journeys import _contexts as contexts
from proactif.journeys import _gdpr as gdpr
from proactif.journeys import api as journeys_api
from proactif.journeys import services, views
from proactif.kernel.capabilities import (
    ANY_EVENT,
    ApiRouter,
    Capability,
    Event,
    HomeBlock,
    JourneyData,
    Listener,
    Nav,
    Pages,
    Panel,
    PersonalData,
    Scope,
    agent,
    api,
    route,
)

AGENTS = agent(*OPERATIONAL_PURPOSES)
READS = agent(*OPERATIONAL_PURPOSES, personal=True)
EDITORS = agent(*OPERATIONAL_PURPOSES, roles=[Role.RESPONSABLE])
# The purposes of the services whose journeys run (état civil, communication, CCAS): a test checks them
# against the services of the shipped journeys.
JOURNEY_PURPOSES = frozenset({"etat_civil", "information", "action_sociale", "prevention_sante"})

CAPABILITY = Capability(
    name="journeys", label="Parcours",
    personal_data=PersonalData.handled_by(
        "parcours", ("journeys.JourneyInstance", "journeys.AgentTask", "journeys.JourneyEvent"), gdpr),
    pages=(Pages("parcours/", "journeys", (
        route("", views.journeys, AGENTS, "list"),
        route("nouveau/", views.edit, EDITORS, "new"),
        route("taches/", views.tasks, READS, "tasks"),
        route("suivi/<int:instance_id>/", views.instance, READS, "instance"),
        route("suivi/<int:instance_id>/intervention/", views.takeover, READS, "takeover"),
        route("<slug:key>/", views.journey, READS, "journey"),
        route("<slug:key>/modifier/", views.edit, EDITORS, "edit"),
    )),),
    api=ApiRouter("/journeys", journeys_api.router, {
        journeys_api.journeys: api("journeys:read"),
        journeys_api.instance: api("journeys:read", personal=True),
        journeys_api.takeover: api("journeys:write"),
    }),
    scopes=(Scope("journeys:read", "Lire les parcours et leur chronologie", JOURNEY_PURPOSES),
            Scope("journeys:write", "Intervenir sur un parcours (pause, message, saut, sortie)", JOURNEY_PURPOSES)),
    home=(HomeBlock("Tâches de mon service", "journeys:tasks", "journeys/_home.html", services.home_tasks, 10),),
    nav=(Nav("Parcours", "journeys:list", 20),),
    panels=(Panel(Section.PARCOURS, "Parcours et messages", "journeys/_person_panel.html", services.person_panel),),
    journey_data=(JourneyData("document", contexts.documents), JourneyData("personne", contexts.persons)),
    events=(Event("task_done", "Tâche faite"),),
    listeners=(Listener((ANY_EVENT,), services.on_event),),
    reports={"journeys": services.simulation_report},
)
