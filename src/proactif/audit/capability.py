"""Audit: the access log and the DPO's pages (the log, GDPR export and erasure)."""

from proactif.accounts.domain import Role
from proactif.audit import api as audit_api
from proactif.audit import services, views
from proactif.kernel.capabilities import (
    ApiRouter,
    Capability,
    HomeBlock,
    Nav,
    Pages,
    PersonalData,
    Scope,
    agent,
    api,
    route,
)

DPO = agent("rgpd", roles=[Role.DPO], personal=True)

CAPABILITY = Capability(
    name="audit", label="Journal des accès et RGPD",
    personal_data=PersonalData(
        "journal_des_acces", models=("audit.AccessLog",), export=services.export_consultations,
        plan_erasure=services.plan_consultations, erase=lambda person_id: {}, purge=services.purge_consultations),
    pages=(Pages("dpo/", "audit", (
        route("journal/", views.log, DPO, "log"),
        route("journal.csv", views.log_csv, DPO, "log_csv"),
        route("droits/", views.rights, DPO, "rights"),
    )),),
    api=ApiRouter("/audit", audit_api.router, {audit_api.log: api("audit:read", personal=True)}),
    scopes=(Scope("audit:read", "Lire le journal des accès (délégué à la protection des données)",
                  frozenset({"rgpd"})),),
    home=(HomeBlock("Journal des accès", "audit:log", "audit/_home.html", services.home_watch, 70),),
    nav=(Nav("Journal des accès", "audit:log", 80), Nav("Droits RGPD", "audit:rights", 81)),
)
