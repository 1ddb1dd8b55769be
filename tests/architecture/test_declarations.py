"""The capabilities' declarations hold by construction: every route and API operation has an access rule,
every table about people a GDPR handling, and each guard is proven by adding what it must catch."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.test.utils import isolate_apps
from ninja import NinjaAPI, Router

from proactif.kernel import capabilities

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parents[2] / "src" / "proactif"


def api_operations() -> list[tuple[str, str, capabilities.Rule]]:
    """(method, path, rule) of every API operation, from the declarations."""
    out = []
    for declared in capabilities.api_routers():
        for path, view in declared.router.path_operations.items():
            for operation in view.operations:
                for method in operation.methods:
                    rule = declared.rules[operation.view_func]
                    out.append((method, f"/api/v1{declared.prefix.rstrip('/')}{path}", rule))
    return out


def test_every_route_and_api_operation_has_an_access_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from django.urls import get_resolver

    routes = list(capabilities._walk_patterns(get_resolver().url_patterns))
    assert capabilities.undeclared_routes() == []
    operations = api_operations()
    assert capabilities.undeclared_operations((r.prefix, r.router, r.rules) for r in capabilities.api_routers()) == []
    kinds: dict[str, int] = {}
    for route in (r for c in capabilities.declared() for p in c.pages for r in p.routes):
        kinds[route.rule.kind] = kinds.get(route.rule.kind, 0) + 1
    for _, _, rule in operations:
        kinds[rule.kind] = kinds.get(rule.kind, 0) + 1
    with capsys.disabled():
        print(f"\nroute walk: {len(routes)} URL patterns and {len(operations)} API operations, each with a rule "
              f"({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))})")
    assert len(routes) > 80 and len(operations) >= 15


def test_a_route_added_beside_the_declarations_is_caught_and_refused(client, settings) -> None:
    assert capabilities.undeclared_routes("tests.architecture.undeclared_urls") == ["fuite/"]
    settings.ROOT_URLCONF = "tests.architecture.undeclared_urls"
    response = client.get("/fuite/")
    assert response.status_code == 403 and "données personnelles" not in response.content.decode()


def test_an_api_operation_without_a_rule_is_caught_and_stops_the_mount() -> None:
    from proactif.api.urls import mount

    router = Router()

    @router.get("/declared")
    def declared_op(request: object) -> dict[str, str]:
        return {}

    @router.get("/forgotten")
    def forgotten(request: object) -> dict[str, str]:
        return {}

    rules = {declared_op: capabilities.api("registry:read")}
    assert capabilities.undeclared_operations([("/essai", router, rules)]) == ["GET /essai/forgotten"]
    with pytest.raises(ImproperlyConfigured, match="GET /essai/forgotten"):
        mount(NinjaAPI(urls_namespace="essai"), [capabilities.ApiRouter("/essai", router, rules)])


def test_every_table_about_people_has_a_gdpr_handling(capsys: pytest.CaptureFixture[str]) -> None:
    from django.apps import apps

    assert capabilities.uncovered_models() == []
    assert capabilities.unknown_declarations() == []
    handled = capabilities.personal_data()
    subjects = {s for p in handled for s in p.subjects}
    fields = {f for p in handled for f in p.fields}
    bearing = [m for m in apps.get_models() if m.__module__.startswith("proactif.")
               and (capabilities.person_references(m, subjects, fields) or m._meta.label in subjects)]
    with capsys.disabled():
        print(f"\nmodel walk: {len([m for m in apps.get_models() if m.__module__.startswith('proactif.')])} tables, "
              f"{len(bearing)} about people, each covered by one of {len(handled)} GDPR handlings")
    assert len(bearing) >= 30  # the walk itself keeps finding them
    covered = [label for p in handled for label in p.models]
    assert len(covered) == len(set(covered)), "a table is covered by two capabilities"


@isolate_apps("proactif.kernel")
def test_a_table_about_people_without_gdpr_handling_is_caught() -> None:
    from proactif.registry.models import Person

    class Leak(models.Model):
        reporter_person_id = models.BigIntegerField()

        class Meta:
            app_label = "kernel"

    class Visit(models.Model):
        visitor = models.ForeignKey(Person, on_delete=models.CASCADE)

        class Meta:
            app_label = "kernel"

    class Harmless(models.Model):
        label = models.CharField(max_length=10)

        class Meta:
            app_label = "kernel"

    assert capabilities.uncovered_models([Leak, Visit, Harmless]) == [
        "kernel.Leak (reporter_person_id)", "kernel.Visit (visitor)"]


def test_the_system_check_reports_what_no_declaration_covers(settings) -> None:
    from django.core.management import call_command

    call_command("check")  # clean: raises SystemCheckError otherwise
    settings.ROOT_URLCONF = "tests.architecture.undeclared_urls"
    assert "route without an access rule: fuite/" in capabilities.check_declarations()


def test_every_app_declares_itself_and_names_match() -> None:
    from django.apps import apps

    names = {c.name for c in capabilities.declared()}
    assert names == {a.label for a in apps.get_app_configs() if a.name.startswith("proactif.")}
    for capability in capabilities.declared():
        assert (SRC / capability.name / "capability.py").is_file()


def test_the_old_registries_and_hook_modules_are_gone() -> None:
    for gone in ("deadlines/hooks.py", "rights/hooks.py", "alerts/hooks.py", "journeys/signals.py",
                 "accounts/middleware.py", "accounts/access.py", "accounts/api_auth.py"):
        assert not (SRC / gone).exists(), gone
    source = "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    for registry in ("def register_panel", "def register_report", "def register_step_hook", "def register_target",
                     "def register_attachment", "gdpr.register(", "events.subscribe(", "def subscribe("):
        assert registry not in source, registry


def test_events_channels_and_journey_scopes_follow_the_shipped_journeys() -> None:
    """Every event and channel a shipped journey uses is declared; the journeys' scopes serve exactly the
    purposes of the services that own a journey."""
    from proactif.accounts.domain import DEFAULT_SERVICES
    from proactif.journeys.capability import JOURNEY_PURPOSES

    events, channels = capabilities.events(), capabilities.channels(sent=True)
    assert {"whatsapp", "messenger", "sms", "email", "push", "letter"} <= set(channels)
    services = set()
    for path in SRC.glob("*/journeys/*.yaml"):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        services.add(spec["service"])
        if spec["entry"]["type"] == "event":
            assert spec["entry"]["event"] in events, path
        for node in spec["nodes"].values():
            for event in node.get("events") or []:
                assert event in events, (path, event)
            for channel in node.get("channels") or []:
                assert channel in channels or channel in ("preferred", "any"), (path, channel)
    purposes = {p for s in DEFAULT_SERVICES if s.code in services for p in s.purposes}
    assert purposes == JOURNEY_PURPOSES
    scopes = capabilities.scopes()
    assert scopes["journeys:read"].purposes == scopes["journeys:write"].purposes == JOURNEY_PURPOSES
    assert scopes["alerts:read"].purposes == scopes["alerts:write"].purposes == {"securite_publique"}
    assert scopes["audit:read"].purposes == {"rgpd"}
    assert scopes["registry:write"].purposes == {"etat_civil", "action_sociale"}


def test_publishing_an_undeclared_event_is_an_error_not_a_silent_drop() -> None:
    from proactif.kernel import events

    with pytest.raises(events.UnknownEvent, match="lien_clique"):
        events.publish("lien_clique", person_id=1)


def test_templates_may_use_what_capabilities_declare_and_nothing_else() -> None:
    """The placeholders a template may use come from the declarations: a capability's namespace and fields, and
    the roots its records add (the appointment's `pieces`)."""
    from proactif.messaging import _templating as templating
    from proactif.messaging import services as messaging

    known = messaging.catalogue()
    assert known["rendez_vous"] and "pieces" in known and "alerte" in known and "droits" in known
    assert templating.check("{{ rendez_vous.date }} {% for p in pieces %}{{ p }}{% endfor %}", known) == [
        "pieces", "rendez_vous.date"]
    for data in capabilities.message_data():
        assert set(data.fields) == set(known[data.namespace])
    with pytest.raises(templating.TemplateError, match=r"champ inconnu « rendez_vous\.code_secret »"):
        templating.check("{{ rendez_vous.code_secret }}", known)


def test_the_models_and_their_migrations_agree() -> None:
    """A model changed without its migration would leave PostgreSQL behind SQLite's test database."""
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
