"""The authorization matrix, generated from the declarations: every route and API operation × every demo role
(and, for a service with several purposes, its agent acting for each: a page kept for one purpose opens to that
one only), citizen link and API key kind (live, test).

- a denial is checked fully: the login page for an anonymous visitor of an agent page, 403 for an agent the
  rule does not let in or a visitor without the signed link, 401 without credentials on the API, 403 with a
  scope missing; and a denied request writes nothing in the access log;
- an allowed request never gets 401, 403 or a server error; an unsafe method sent an invalid body gets a 4xx
  validation error (the few bodiless actions — log out, unlock, revoke, undo a merge… — act on their address);
- an allowed read of a page that shows a resident writes an access-log row naming them: the sample resident has
  a name found nowhere else, so any page showing it must have logged the read.

Each request runs in a savepoint rolled back after it: one pair's effect never reaches the next.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import AgentRule, ApiRule, PublicRule, SignedLinkRule, WebhookRule

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

UNIQUE_NAME = "ZEPHYRINE-QUARTERON"  # the sample resident's name: any page showing it has read their data
# Bodiless actions: their address names what they act on, so an empty body is a valid request
ACTIONS = {"accounts:logout", "accounts:unlock", "accounts:revoke_key", "accounts:send_reset", "registry:unmerge",
           "messaging:publish", "rights:inform", "portal:cancel", "watch:end_plan", "watch:take_in_charge"}
INVALID_BODY_STATUSES = {400, 404, 405, 409, 410, 422}
# Extra query strings for pages that read a resident only when asked to
# (the search is by e-mail: the search box does not echo the name)
# Pages reached with a valid sample (a signed token, not a made-up one): a GET must open them, not refuse the sample
OPENS = {"watch:referent_ack"}
QUERIES = {"registry:search": {"q": "aurelie.zq@"}, "audit:rights": {"personne": "{person_id}"},
           "deadlines:agent_booking": {"personne": "{person_id}"}}


@dataclass
class Actor:
    label: str
    client: Client
    role: str | None = None  # agents
    purposes: frozenset[str] = frozenset()
    chosen: str | None = None  # the purpose chosen for the session (None: the agent's default one)
    link_purpose: str | None = None  # citizens who opened a signed link
    token: str | None = None  # API keys
    scopes: frozenset[str] = frozenset()
    session_scopes: frozenset[str] = frozenset()
    signs_webhooks: bool = False
    kind: str = "anonymous"  # anonymous | agent | citizen | key | provider
    headers: dict[str, str] = field(default_factory=dict)


# --- the sample data every parameterised address needs ------------------------------------------------------
def build_samples(agents: dict[str, Any]) -> dict[str, Any]:
    from proactif.accounts import services as accounts
    from proactif.alerts.models import Incident, IncidentMessage, IncidentRecipient
    from proactif.deadlines import services as deadlines
    from proactif.deadlines.models import Appointment, TitleRequest
    from proactif.journeys import services as journeys
    from proactif.journeys.models import AgentTask, JourneyInstance
    from proactif.messaging import services as messaging
    from proactif.messaging.models import LetterBatch, OutboxMessage, Template
    from proactif.registry import services as registry
    from proactif.registry.models import ContactPoint, Document, ImportRejection, ImportRun, MergeSuggestion, Person
    from proactif.rights.models import Assessment, Outreach, ScreeningRun
    from proactif.watch import _referent as referent
    from proactif.watch import domain as watch_domain
    from proactif.watch._telemetry import register_device, token_hash
    from proactif.watch.models import Alert as WatchAlert
    from proactif.watch.models import CheckIn as WatchCheckIn
    from proactif.watch.models import Contact as WatchContact
    from proactif.watch.models import Device as WatchDevice
    from proactif.watch.models import Plan as WatchPlan
    from proactif.watch.models import Registration as WatchRegistration

    now = clock.now()
    neighbour = Person.objects.filter(status="active", household__isnull=False).order_by("id").first()
    person = Person.objects.create(
        nom_naissance=UNIQUE_NAME, prenoms="Aurélie", sexe="F", date_naissance=date(1980, 5, 17), status="active",
        household=neighbour.household, menage_role="conjoint", source="import", nom_cle=UNIQUE_NAME.lower(),
        prenoms_cle="aurelie", updated_at=now)  # not synthetic: a test key must not reach it
    twin = Person.objects.create(
        nom_naissance=UNIQUE_NAME, prenoms="Aurélie", sexe="F", date_naissance=date(1980, 5, 17), status="active",
        source="import", nom_cle=UNIQUE_NAME.lower(), prenoms_cle="aurelie", updated_at=now)
    ContactPoint.objects.create(person=person, kind="email", value="aurelie.zq@example.fr", created_at=now)
    document = Document.objects.create(person=person, kind="passeport", numero="24AB12345", issued_on=date(2017, 3, 1),
                                       expires_on=date(2027, 3, 1), status="valide", source="mairie", updated_at=now)
    suggestion = MergeSuggestion.objects.create(person_a=person, person_b=twin, score=0.97, reasons=["nom"],
                                                status="pending", created_at=now)
    keeper = accounts.actor_for_agent(agents["responsable"])
    from proactif.accounts.domain import Access

    merged_a = Person.objects.create(nom_naissance="DOUBLON", prenoms="Un", sexe="M", status="active",
                                     nom_cle="doublon", prenoms_cle="un", updated_at=now)
    merged_b = Person.objects.create(nom_naissance="DOUBLON", prenoms="Un", sexe="M", status="active",
                                     nom_cle="doublon", prenoms_cle="un", updated_at=now)
    registry.merge_persons(Access(keeper, "etat_civil"), merged_a.pk, merged_b.pk, "même personne")
    merge = registry.recent_merges(1)[0]
    run = ImportRun.objects.create(kind="residents", filename="habitants.csv", sha256="0" * 64, started_at=now,
                                   status="done", lines_total=2, lines_done=2, rejected=1)
    ImportRejection.objects.create(run=run, line=2, field="date_naissance", reason="date illisible « 31/02/1980 »")
    template = Template.objects.filter(status="published", channel="email").first()
    message = OutboxMessage.objects.create(
        idempotency_key="matrice-1", person_id=person.pk, service="etat_civil", purpose="rappels_echeances",
        policy=["email"], channel="email", template_key=template.key, status="sent", not_before=now,
        recipient="aurelie@example.fr", subject="Votre passeport", body="Bonjour", created_at=now, updated_at=now,
        sent_at=now)
    pdf = messaging_letters_file()
    batch = LetterBatch.objects.create(created_at=now, count=1, pdf=str(pdf), manifest=str(pdf))
    instance = journeys.start("titres-identite", person.pk, subject_id=document.pk)
    instance = instance or JourneyInstance.objects.filter(person_id=person.pk).first()
    AgentTask.objects.create(instance=instance, person_id=person.pk, service="etat_civil", title="Appeler",
                             node="appel", created_at=now, due_at=now + timedelta(days=2))
    counter = deadlines.ensure_default_counter()
    start = clock.local_datetime(clock.today(), 10, 0)
    appointment = Appointment.objects.create(counter=counter, starts_at=start, ends_at=start + timedelta(minutes=20),
                                             person_id=person.pk, kinds=["passeport"], uid="matrice@proactif",
                                             created_at=now, created_by="test")
    TitleRequest.objects.create(person_id=person.pk, kind="passeport", appointment=appointment, created_at=now)
    screening = ScreeningRun.objects.create(period=clock.today().strftime("%Y-%m"), benefits=["rsa"], status="done",
                                            model_version="test", started_by="test", created_at=now)
    Assessment.objects.create(run=screening, household_id=person.household_id, benefit="rsa", amount=350.0,
                              previous_amount=350.0, eligible=True, receiving=False, detected=True, stable=True,
                              confidence="haute")
    outreach = Outreach.objects.create(run=screening, household_id=person.household_id, person_id=person.pk,
                                       benefits=[{"benefit": "rsa", "amount": 350.0}], status="informe",
                                       created_at=now, updated_at=now)
    incident = Incident.objects.create(type_code="coupure_eau", title="Coupure d'eau", status="active",
                                       created_by="police@test.proactif.fr", created_at=now, updated_at=now)
    IncidentMessage.objects.create(incident=incident, seq=1, kind="alerte", texts={"fr": "Coupure d'eau"},
                                   sent_by="police@test.proactif.fr", sent_at=now, recipients=1)
    IncidentRecipient.objects.create(incident=incident, person_id=person.pk, answer="besoin_aide",
                                     answer_channel="sms", answered_at=now, note="sans eau")
    registration = WatchRegistration.objects.create(person_id=person.pk, qualite="age_65", requested_on=clock.today(),
                                                    requested_by="personne", created_at=now, updated_at=now)
    plan = WatchPlan.objects.create(phenomenon="canicule", departement="75", level=3, status="alerte", started_at=now,
                                    raised_at=now)
    checkin = WatchCheckIn.objects.create(plan=plan, registration=registration, person_id=person.pk,
                                          day=clock.today(), created_at=now)
    from proactif.assist.models import Edition

    edition = Edition.objects.create(title="Lettre", created_at=now, created_by="matrice")
    device, _ = register_device("MATRICE-0001", "constantes")
    WatchDevice.objects.filter(pk=device.pk).update(token_hash=token_hash("s"))  # the providers' secret "s"
    watch_alert = WatchAlert.objects.create(person_id=person.pk, rule="threshold:spo2", severity="warning",
                                            message="Saturation en oxygène à 88 %", found_at=now, opened_at=now)
    # the referent's signed link for that alert (valid: the referent of the person's registration, their number)
    referent_contact = WatchContact.objects.create(registration=registration, role="referent", name="Paul ZQ",
                                                   relation="fils", telephone="06 11 22 33 44")
    referent_address = watch_domain.contact_channel(referent_contact.telephone, referent_contact.email)[1]
    links = {
        "deadlines.booking": messaging.create_link("deadlines.booking", person.pk, instance_id=instance.pk,
                                                   payload={"subject_id": document.pk})[1],
        "rights.reponse": messaging.create_link("rights.reponse", person.pk)[1],
        "alerts.reponse": messaging.create_link("alerts.reponse", person.pk, payload={"incident": incident.pk})[1],
    }
    key, _ = accounts.create_api_key("etat_civil", "à révoquer", "test", ["registry:read"])
    reset = accounts.reset_link(agents["dpo"], "http://testserver")
    return {
        "person": person, "links": links,
        "kwargs": {
            "person_id": person.pk, "suggestion_id": suggestion.pk, "merge_id": merge.pk,
            "agent_id": agents["etat_civil"].pk,
            "key_id": key.pk, "message_id": message.pk, "template_id": template.pk, "batch_id": batch.pk,
            "kind": "pdf", "instance_id": instance.pk, "key": "titres-identite", "appointment_id": appointment.pk,
            "household_id": person.household_id, "outreach_id": outreach.pk, "incident_id": incident.pk, "seq": 1,
            "name": "quartiers", "token": links["deadlines.booking"].rsplit("/", 1)[1],
            "watch:token": referent.token_for(watch_alert.pk, referent_contact.pk, referent_address),
            "registry:run_id": run.pk, "rights:run_id": screening.pk, "provider": "sms-a",
            "plan_id": plan.pk, "checkin_id": checkin.pk, "registration_id": registration.pk, "serial": device.serial,
            "alert_id": watch_alert.pk,
            "registry:kind": "habitants",  # a sample file of the import page
            "assist:slug": "sport",  # a theme of the public website
            "redaction:slug": "senior", "assist:site": "mediatheque",  # a default segment, a partner site
            "redaction:edition_id": edition.pk,
            # an agent's one-time link to choose a password (a valid one: the page opens to anyone holding it)
            "accounts:uidb64": reset.rsplit("/", 3)[1], "accounts:token": reset.rsplit("/", 3)[2],
        },
    }


# A page under each mounted URL configuration; None: none can be requested without a fixture of its own (a Wagtail
# document needs an uploaded file: tests/assist/test_site_attacks.py covers /documents/)
MOUNT_SAMPLES = {"site/": "/site/", "cms/": "/cms/", "documents/": None}


def messaging_letters_file() -> Any:
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "lot.pdf"
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    return path


# --- who asks ------------------------------------------------------------------------------------------------
def build_actors(agents: dict[str, Any], samples: dict[str, Any]) -> list[Actor]:
    from proactif.accounts import services as accounts

    actors = [Actor("anonyme", Client())]
    for key, agent in agents.items():
        client = Client()
        client.force_login(agent)
        actor = accounts.actor_for_agent(agent)
        caller = accounts.session_caller(agent)
        actors.append(Actor(f"agent {key} ({agent.role})", client, role=str(actor.role), purposes=actor.purposes,
                            session_scopes=caller.scopes, kind="agent"))
        for chosen in sorted(actor.purposes - {actor.default_purpose()}):
            # acting for another purpose of their service than their default one: pages kept for a purpose
            # (exclusive rules) open to one and not to the other
            client = Client()
            client.force_login(agent)
            session = client.session
            session[accounts.SESSION_PURPOSE] = chosen
            session.save()
            actors.append(Actor(f"agent {key} ({agent.role}, au titre de {chosen})", client, role=str(actor.role),
                                purposes=actor.purposes, chosen=chosen, session_scopes=caller.scopes, kind="agent"))
    for purpose, url in samples["links"].items():
        client = Client()
        assert client.get(url.replace("http://127.0.0.1:8000", "")).status_code == 302
        actors.append(Actor(f"habitant ({purpose})", client, link_purpose=purpose, kind="citizen"))
    for service in ("etat_civil", "ccas", "communication", "police_municipale", "sante_prevention", "dpo"):
        scopes = accounts.scopes_for_service(service)
        for kind in ("live", "test"):
            _, token = accounts.create_api_key(service, f"matrice {kind}", kind, scopes)
            actors.append(Actor(f"clé {kind} {service}", Client(), token=token, scopes=frozenset(scopes), kind="key",
                                headers={"HTTP_AUTHORIZATION": f"Bearer {token}"}))
    actors.append(Actor("fournisseur sms-a (signé)", Client(), signs_webhooks=True, kind="provider"))
    return actors


# --- what each rule expects -----------------------------------------------------------------------------------
def web_allows(rule: Any, actor: Actor) -> bool | str:
    """True, False, or "login" (an anonymous visitor sent to the login page)."""
    if isinstance(rule, PublicRule):
        return True
    if isinstance(rule, AgentRule):
        if actor.kind != "agent":
            return "login"
        return rule.admits(actor.role or "", actor.purposes, actor.chosen)
    if isinstance(rule, SignedLinkRule):
        return actor.kind == "citizen" and rule.link_purpose in ("*", actor.link_purpose)
    raise AssertionError(f"a web page with a {rule.kind} rule")


def api_allows(rule: Any, actor: Actor) -> bool | int:
    """True, or the status of the refusal (401 without credentials, 403 with a scope missing)."""
    if isinstance(rule, PublicRule):
        return True
    if isinstance(rule, WebhookRule):
        return True if actor.signs_webhooks else 401
    assert isinstance(rule, ApiRule)
    if actor.kind == "key":
        return True if rule.scope in actor.scopes else 403
    if actor.kind == "agent":
        return True if rule.scope in actor.session_scopes else 403
    return 401


@dataclass
class Tally:
    pairs: int = 0
    requests: int = 0
    denied: int = 0
    allowed: int = 0
    logged_reads: int = 0
    problems: list[str] = field(default_factory=list)


def request(actor: Actor, method: str, path: str, data: Any = None, json_body: bool = False,
            extra: dict[str, str] | None = None) -> Any:
    """One request in a savepoint rolled back after it; the actor's cookies are restored."""
    from proactif.audit.models import AccessLog

    cookies = SimpleCookie()
    cookies.load(actor.client.cookies.output(header="", sep=";"))
    last = AccessLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with transaction.atomic():
        headers = {**actor.headers, **(extra or {})}
        if method == "GET":
            response = actor.client.get(path, data or {}, **headers)
        elif json_body:
            response = actor.client.post(path, json.dumps(data or {}), content_type="application/json", **headers)
        else:
            response = actor.client.post(path, data or {}, **headers)
        rows = list(AccessLog.objects.filter(id__gt=last).values("person_id", "action"))
        transaction.set_rollback(True)
    actor.client.cookies = cookies
    response.log_rows = rows
    return response


def test_every_route_answers_every_actor_as_its_declaration_says(agents, fixed_clock, capsys, settings) -> None:
    settings.WHATSAPP_APP_SECRET = settings.MESSENGER_APP_SECRET = "s"  # the signing provider's Meta secret
    settings.EMAIL_FEEDBACK_SECRETS = '{"sms-a": "s"}'  # and its bounce reports' secret
    samples = build_samples(agents)
    actors = build_actors(agents, samples)
    tally = Tally()
    login = reverse("accounts:login")
    person_id = samples["kwargs"]["person_id"]

    for capability in capabilities.declared():
        for pages in capability.pages:
            for route in pages.routes:
                name = f"{pages.namespace}:{route.name}"
                kwargs = route_kwargs(route.pattern, pages.namespace, samples["kwargs"])
                path = reverse(name, kwargs=kwargs)
                query = {k: v.format(person_id=person_id) for k, v in QUERIES.get(name, {}).items()}
                for actor in actors:
                    if actor.kind in ("key", "provider"):
                        continue  # keys and providers speak to the API only
                    tally.pairs += 1
                    expected = web_allows(route.rule, actor)
                    for method in ("GET", "POST"):
                        response = request(actor, method, path, query if method == "GET" else {})
                        tally.requests += 1
                        where = f"{method} {path} as {actor.label}"
                        status = response.status_code
                        if status == 405:
                            continue
                        if expected == "login":
                            tally.denied += 1
                            ok = status == 302 and response["Location"].startswith(login)
                            check(tally, ok and not response.log_rows, f"{where}: {status}, expected the login page")
                        elif expected is False:
                            tally.denied += 1
                            check(tally, status == 403 and not response.log_rows, f"{where}: {status}, expected 403")
                        else:
                            tally.allowed += 1
                            check_allowed(tally, route.rule, name, method, response, where, kwargs, person_id)

    # Mounted URL configurations (the CMS, its pages' catch-all): one page of each, for every actor
    for capability in capabilities.declared():
        for mount in capability.mounts:
            assert mount.prefix in MOUNT_SAMPLES, f"no sample page for the mount {mount.prefix}"
            path = MOUNT_SAMPLES[mount.prefix]
            if path is None:
                continue
            for actor in actors:
                if actor.kind in ("key", "provider"):
                    continue
                tally.pairs += 1
                expected = web_allows(mount.rule, actor)
                response = request(actor, "GET", path, {})
                tally.requests += 1
                where, status = f"GET {path} as {actor.label}", response.status_code
                if expected == "login":
                    check(tally, status == 302 and response["Location"].startswith(login), f"{where}: {status}")
                elif expected is False:
                    check(tally, status == 403, f"{where}: {status}, expected 403")
                else:
                    check(tally, status == 200, f"{where}: {status}, expected 200")

    for declared in capabilities.api_routers():
        for pattern, view in declared.router.path_operations.items():
            for operation in view.operations:
                rule = declared.rules[operation.view_func]
                path = "/api/v1" + declared.prefix.rstrip("/") + fill(pattern, samples["kwargs"])
                for actor in actors:
                    if actor.kind == "citizen":
                        continue
                    tally.pairs += 1
                    expected = api_allows(rule, actor)
                    for method in operation.methods:
                        extra = signed({}) if actor.signs_webhooks else None
                        response = request(actor, method, path, {}, json_body=method != "GET", extra=extra)
                        tally.requests += 1
                        where = f"{method} {path} as {actor.label}"
                        status = response.status_code
                        if expected is True:
                            tally.allowed += 1
                            check_allowed(tally, rule, path, method, response, where, {"person_id": person_id}
                                          if "{person_id}" in pattern else {}, person_id)
                        else:
                            tally.denied += 1
                            check(tally, status == expected and not response.log_rows,
                                  f"{where}: {status}, expected {expected}")

    with capsys.disabled():
        print(f"\nauthorization matrix: {tally.pairs} (route, actor) pairs, {tally.requests} requests — "
              f"{tally.denied} denials checked, {tally.allowed} allowed, {tally.logged_reads} reads of the sample "
              f"resident logged; {len(actors)} actors")
    assert tally.problems == [], "\n".join(tally.problems[:60])
    assert tally.pairs > 1000 and tally.logged_reads >= 30


def check(tally: Tally, ok: bool, problem: str) -> None:
    if not ok:
        tally.problems.append(problem)


def check_allowed(tally: Tally, rule: Any, name: str, method: str, response: Any, where: str,
                  kwargs: dict[str, Any], person_id: int) -> None:
    status = response.status_code
    if status in (401, 403) or status >= 500:
        tally.problems.append(f"{where}: allowed, got {status}")
        return
    if name in OPENS and method == "GET":
        check(tally, status == 200, f"{where}: its valid sample answered {status}, not the page")
    if method != "GET" and not isinstance(rule, PublicRule):
        if name in ACTIONS:
            check(tally, status in (200, 201, 302), f"{where}: a bodiless action answered {status}")
        else:
            check(tally, status in INVALID_BODY_STATUSES, f"{where}: an invalid body answered {status}, not a 4xx")
        return
    if method != "GET":
        return
    body = b"" if getattr(response, "streaming", False) else response.content
    shown = UNIQUE_NAME.encode() in body.upper() if body else False
    named = any(row["person_id"] == person_id for row in response.log_rows)
    if shown or (getattr(rule, "personal", False) and status == 200 and "person_id" in kwargs):
        tally.logged_reads += named
        check(tally, named, f"{where}: shows the sample resident but wrote no access-log row naming them")


def route_kwargs(pattern: str, namespace: str, samples: dict[str, Any]) -> dict[str, Any]:
    import re

    out = {}
    for name in re.findall(r"<(?:\w+:)?(\w+)>", pattern):
        out[name] = samples.get(f"{namespace}:{name}", samples.get(name))
        assert out[name] is not None, f"no sample for {name} ({namespace})"
    return out


def fill(pattern: str, samples: dict[str, Any]) -> str:
    import re

    return re.sub(r"\{(\w+)\}", lambda m: str(samples[m.group(1)]), pattern)


def signed(payload: dict[str, Any]) -> dict[str, str]:
    """The provider's headers: an SMS gateway's timestamped signature, Meta's, and a home device's own token, all
    with the secret "s"."""
    import time

    body, stamp = json.dumps(payload).encode(), str(int(time.time()))
    return {"HTTP_X_PROACTIF_TIMESTAMP": stamp,
            "HTTP_X_PROACTIF_SIGNATURE": hmac.new(b"s", stamp.encode() + b"." + body, hashlib.sha256).hexdigest(),
            "HTTP_X_HUB_SIGNATURE_256": "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest(),
            "HTTP_AUTHORIZATION": "Bearer s"}
