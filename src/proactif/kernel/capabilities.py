"""Each capability declares itself once; the kernel reads the declarations.

A capability app has a module `capability.py` holding `CAPABILITY = Capability(...)`: its pages and API
operations, each with exactly one access rule; what it holds on people and how the GDPR rights reach it
(or an explicit "none" with a reason); its navigation entries, person-file panels, message data, journey
data, journey events and who listens to them, channels, citizen-link targets, API scopes and the purposes
they are bound to, the send-time rules and the legal basis of the communication purposes it holds, and whom
its journeys may write to besides their person. Everything that would otherwise be a hand-kept list — the
navigation, the GDPR providers, the event and channel names, the access checks — is derived from these
declarations, and the walks at the end of this module find any route or table about people that no declaration
covers.

This module is plain data and look-ups: it never imports a capability except through
`importlib` when the declarations are first read (after Django's apps are ready).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, wraps
from typing import Any, ClassVar

# --- access rules: every page and API operation has exactly one ---------------------------------------------


@dataclass(frozen=True)
class AgentRule:
    """A logged-in agent. `purposes`: the agent must work for one of them (none listed: any agent); `roles`: the
    agent's role must be one of them (none listed: any role). `personal`: the page shows residents' data, so
    every read writes the access log (the authorization matrix checks it). `bearer_setting`: the name of a
    setting holding a token; when it is set, a machine bearing `Authorization: Bearer <token>` gets in too (the
    Prometheus scraper on /metrics), and a wrong token gets 401. `exclusive`: working for one of `purposes` is
    not enough, the agent must be acting for it — the purpose chosen for the session, or when none is, their
    default one (`acting_purpose`): a CCAS agent working under « action sociale » does not open the register of
    vulnerable people, kept for « prévention santé », until they switch."""

    purposes: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    personal: bool = False
    bearer_setting: str = ""
    exclusive: bool = False
    kind: ClassVar[str] = "agent"

    def allows(self, role: str, purposes: frozenset[str]) -> bool:
        if self.roles and role not in self.roles:
            return False
        return not self.purposes or bool(self.purposes & purposes)

    def admits(self, role: str, purposes: frozenset[str], chosen: str | None = None) -> bool:
        """`allows`, and for an exclusive page, the agent acting for one of its purposes."""
        if not self.allows(role, purposes):
            return False
        return not self.exclusive or acting_purpose(purposes, chosen) in self.purposes

    def purpose_for(self, purposes: frozenset[str], chosen: str | None = None) -> str | None:
        """The purpose an agent acts for on this page: the one chosen for the session if the page accepts it,
        else the first the page accepts among theirs."""
        usable = purposes & self.purposes if self.purposes else purposes
        if chosen in usable:
            return chosen
        return min(usable) if usable else None


@dataclass(frozen=True)
class ApiRule:
    """A machine client's key (or an agent's session) holding `scope`."""

    scope: str
    personal: bool = False
    kind: ClassVar[str] = "api"


@dataclass(frozen=True)
class SignedLinkRule:
    """A citizen who opened a valid signed link of `link_purpose` in this browser ("*": of any purpose); the
    others get the page `refusal` (a template saying how to reach the page) with a 403."""

    link_purpose: str
    refusal: str = ""
    kind: ClassVar[str] = "signed_link"


@dataclass(frozen=True)
class WebhookRule:
    """A provider's call, checked by `verify(request, **path parameters)` (raises on a bad signature)."""

    verify: Callable[..., Any]
    description: str
    kind: ClassVar[str] = "webhook"


@dataclass(frozen=True)
class PublicRule:
    """Open to anyone, for the reason given."""

    reason: str
    kind: ClassVar[str] = "public"


Rule = AgentRule | ApiRule | SignedLinkRule | WebhookRule | PublicRule


def acting_purpose(purposes: frozenset[str], chosen: str | None = None) -> str | None:
    """The purpose an agent working for `purposes` acts for: the one chosen for the session when it is one of
    theirs, else their default, the first in alphabetical order (`accounts.domain.Actor.default_purpose`)."""
    if chosen in purposes:
        return chosen
    return min(purposes) if purposes else None


def agent(*purposes: str, roles: Iterable[str] = (), personal: bool = False, bearer_setting: str = "",
          exclusive: bool = False) -> AgentRule:
    if exclusive and not purposes:
        raise ValueError("an exclusive page names the purposes it is kept for")
    return AgentRule(frozenset(purposes), frozenset(str(r) for r in roles), personal, bearer_setting, exclusive)


def api(scope: str, personal: bool = False) -> ApiRule:
    return ApiRule(scope, personal)


def signed_link(link_purpose: str, refusal: str = "") -> SignedLinkRule:
    return SignedLinkRule(link_purpose, refusal)


def webhook(verify: Callable[..., Any], description: str) -> WebhookRule:
    return WebhookRule(verify, description)


def public(reason: str) -> PublicRule:
    if not reason.strip():
        raise ValueError("a public route says why it is public")
    return PublicRule(reason)


# --- what a capability declares ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    pattern: str
    view: Callable[..., Any]
    rule: Rule
    name: str | None = None


def route(pattern: str, view: Callable[..., Any], rule: Rule, name: str | None = None) -> Route:
    return Route(pattern, view, rule, name)


@dataclass(frozen=True)
class Pages:
    """Web pages mounted under `prefix` in the URL namespace `namespace`."""

    prefix: str
    namespace: str
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class Notice:
    """Something the public must know now (an alert in progress), for the public website's home: no resident in
    it, only what the capability publishes anyway (the alerts' Atom feed)."""

    title: str
    summary: str
    url: str
    updated: Any  # an aware datetime
    theme: str  # the site's theme it belongs to (`securite-prevention`…)


@dataclass(frozen=True)
class Mount:
    """A URL configuration another package builds (the CMS's admin, its pages' catch-all), mounted under `prefix`
    outside any namespace (the package reverses its own names), with one rule for every route in it.
    `patterns()` returns the package's URL patterns; it is called once, when the URL configuration is built.
    Mounts come after every capability's pages, so a declared page wins over a catch-all."""

    prefix: str
    patterns: Callable[[], list[Any]]
    rule: Rule


@dataclass(frozen=True)
class ApiRouter:
    """A django-ninja router mounted under /api/v1`prefix`; `rules` gives each operation's function its rule."""

    prefix: str
    router: Any
    rules: Mapping[Callable[..., Any], Rule]


@dataclass(frozen=True)
class Scope:
    """An API scope, bound to the purposes it serves: a key of a service gets it only if the service works for
    one of them; an agent's session holds it if the agent does (and has one of `roles`, when listed)."""

    code: str
    label: str
    purposes: frozenset[str]
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ErasureItem:
    category: str
    action: str  # erase | anonymise | retain
    reason: str
    count: int = 1


@dataclass(frozen=True)
class PersonalData:
    """What a capability holds on people and how the GDPR rights reach it: art. 15 export, art. 17 erasure
    plan and erasure, the retention purge, and `wipe` (every resident forgotten before a registry is
    replaced). `models` are the tables it covers ("app.Model"); `fields` the plain references to people the
    model walk cannot guess from their names ("app.Model.field"); `subjects` the tables that are people."""

    name: str
    models: tuple[str, ...]
    export: Callable[[int], dict[str, Any]]
    plan_erasure: Callable[[int], list[ErasureItem]]
    erase: Callable[[int], dict[str, Any]]
    purge: Callable[[], dict[str, Any]] = field(default=dict)
    wipe: Callable[[], int] = field(default=int)
    fields: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()

    @classmethod
    def handled_by(cls, name: str, models: tuple[str, ...], module: Any, **more: Any) -> PersonalData:
        """The handling a capability's GDPR module holds: its `export`, `plan_erasure` and `erase`, and its `purge`
        and `wipe` when it has them."""
        optional = {n: getattr(module, n) for n in ("purge", "wipe") if hasattr(module, n)}
        return cls(name, models, module.export, module.plan_erasure, module.erase, **optional, **more)


@dataclass(frozen=True)
class NoPersonalData:
    reason: str


@dataclass(frozen=True)
class Nav:
    """An entry of the agent navigation, shown to whoever the rule of the page it opens lets in."""

    label: str
    url_name: str
    order: int


@dataclass(frozen=True)
class HomeBlock:
    """A block of the agents' home page — a service's tasks, the day's appointments, the incidents awaiting
    approval: `template` filled with `build(access) → dict`, under `title`, shown to whoever the rule of the page
    it leads to (`url_name`) lets in and acting for the purpose that page would give them; by `order`."""

    title: str
    url_name: str
    template: str
    build: Callable[[Any], dict[str, Any]]
    order: int = 50


@dataclass(frozen=True)
class Panel:
    """A part of the person file: `template` with `build(person_id)`, for purposes that open `section`."""

    section: str
    title: str
    template: str
    build: Callable[[int], Any]


@dataclass(frozen=True)
class MessageData:
    """Template data: messages carrying `id_key` get `namespace` from `load(ids) → {id: data}` — the `fields`
    template authors may use — and e-mails an attachment from `attachment(id) → (name, content, MIME type)`
    when given. `roots` are variables a loaded record adds at the top level (`pieces`: None for a value or a
    list of values, or its fields)."""

    namespace: str
    id_key: str
    load: Callable[[list[Any]], dict[Any, dict[str, Any]]]
    fields: tuple[str, ...]
    attachment: Callable[[Any], tuple[str, str, str] | None] | None = None
    roots: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    # Illustrative values (and `_racines`) for a template's preview when the message has no such record
    example: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JourneyData:
    """What journey conditions see under `namespace`: `load(instances) → {instance id: data}`."""

    namespace: str
    load: Callable[[list[Any]], dict[int, dict[str, Any]]]


@dataclass(frozen=True)
class Event:
    """Something that happens to a person (published by its capability), which journeys may wait for."""

    code: str
    label: str


ANY_EVENT = "*"


@dataclass(frozen=True)
class Listener:
    """`handler(event, person_id, instance_id=None, **payload)` runs, in the publisher's transaction, on each of
    `events` (ANY_EVENT: all)."""

    events: tuple[str, ...]
    handler: Callable[..., Any]


@dataclass(frozen=True)
class Channel:
    """A channel people are reached on. `sent`: messaging sends on it (else an agent acts: a phone call)."""

    code: str
    label: str
    sent: bool = True


@dataclass(frozen=True)
class Sending:
    """How messages of a communication purpose meet the send-time rules: `hours()` → "HH:MM-HH:MM" local (the
    window they may leave in, instead of PROACTIF_QUIET_HOURS), `every_day` (Sundays and public holidays
    included), `capped` (False: the per-person frequency caps neither hold them back nor count them)."""

    purpose: str
    hours: Callable[[], str]
    every_day: bool = False
    capped: bool = True


@dataclass(frozen=True)
class ContactBasis:
    """The legal basis of a communication purpose that a capability holds (the register of vulnerable people for
    `veille_sante`): `holders(person_ids)` → those it covers now. Checked at send time like a consent."""

    purpose: str
    label: str
    holders: Callable[[list[int]], set[int]]


@dataclass(frozen=True)
class Recipients:
    """People a journey's send node may address who are not the instance's person (a referent, an emergency
    contact): `load(instances) → {instance id: [(channel, address, context)]}` — `context` is added to the
    message's (an id the template's data loads by, `synthetic`)."""

    code: str
    label: str
    load: Callable[[list[Any]], dict[int, list[tuple[str, str, dict[str, Any]]]]]


@dataclass(frozen=True)
class LinkTarget:
    """Where a signed citizen link of `purpose` leads once checked (a URL name)."""

    purpose: str
    url_name: str


@dataclass(frozen=True)
class ResidentItem:
    """One thing a resident who opened their link reads about themselves (their passport to renew, an alert in
    their street): `title`, `text`, and what they can do — `action` (the button's words) leading to `url` (a page
    of the site or an outside one), or to a citizen link of `link_purpose` (with `payload`) made for the same
    person when they follow it. `key` names the item among its capability's (the button sends it back)."""

    key: str
    title: str
    text: str = ""
    action: str = ""
    url: str = ""
    link_purpose: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    when: Any = None  # a date or an aware datetime the item is about (shown), or None


@dataclass(frozen=True)
class ForResident:
    """What a capability shows a resident about themselves on their signed-link page (`assist`): `items(person
    id)` → their items now. `purpose` is the communication purpose whose legal basis it relies on (the registry's
    `COMMUNICATION_PURPOSES`): nothing is shown to a person whose opposition or refusal is in force for it, or
    whom its rule does not allow (an opt-in purpose without consent). `section` is the section of the person's
    file it reads, written in the access log with each reading."""

    purpose: str
    label: str
    section: str
    items: Callable[[int], list[ResidentItem]]


@dataclass(frozen=True)
class Capability:
    name: str  # the app label
    label: str
    personal_data: PersonalData | NoPersonalData
    pages: tuple[Pages, ...] = ()
    mounts: tuple[Mount, ...] = ()
    api: ApiRouter | None = None
    scopes: tuple[Scope, ...] = ()
    nav: tuple[Nav, ...] = ()
    home: tuple[HomeBlock, ...] = ()
    panels: tuple[Panel, ...] = ()
    message_data: tuple[MessageData, ...] = ()
    journey_data: tuple[JourneyData, ...] = ()
    events: tuple[Event, ...] = ()
    listeners: tuple[Listener, ...] = ()
    channels: tuple[Channel, ...] = ()
    link_targets: tuple[LinkTarget, ...] = ()
    sending: tuple[Sending, ...] = ()  # send-time rules of a communication purpose (one declaration per purpose)
    contact_bases: tuple[ContactBasis, ...] = ()  # who a "declared" communication purpose may reach
    recipients: tuple[Recipients, ...] = ()  # whom a journey's send node may address besides its person (`to:`)
    reports: Mapping[str, Callable[[], Any]] = field(default_factory=dict)  # end of a simulation
    install: Callable[[], Any] | None = None  # reference data, idempotent, after the migrations
    notices: Callable[[], list[Notice]] | None = None  # what the public website shows as happening now
    for_resident: tuple[ForResident, ...] = ()  # what a resident reached by their signed link reads about themselves
    warm_up: Callable[[], Any] | None = None  # in each web worker once forked, in a thread: load what is slow to load
    # what runs beside the server or a simulation in this process (the built-in sinks): `alongside(simulation)`
    # returns an object with `stop()` (and `step()`, run after each simulated step), or None
    alongside: Callable[[bool], Any] | None = None


class DeclarationError(Exception):
    """Two declarations disagree, or one refers to something nobody declares."""


# --- reading the declarations --------------------------------------------------------------------------------
DECLARATION_MODULE = "capability"


@cache
def _installed() -> tuple[Capability, ...]:
    from django.apps import apps

    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("proactif."):
            continue
        module_name = f"{config.name}.{DECLARATION_MODULE}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                raise DeclarationError(f"the app {config.name} has no declaration ({module_name}.CAPABILITY)") from None
            raise
        capability = module.CAPABILITY
        if capability.name != config.label:
            raise DeclarationError(f"{module_name}: CAPABILITY.name is {capability.name!r}, "
                                   f"the app is {config.label!r}")
        found.append(capability)
    _check(found)
    return tuple(found)


def declared() -> tuple[Capability, ...]:
    return _installed()


def _check(capabilities: list[Capability]) -> None:
    def unique(kind: str, values: Iterable[str]) -> None:
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise DeclarationError(f"{kind} « {value} » declared twice")
            seen.add(value)

    unique("event", (e.code for c in capabilities for e in c.events))
    unique("channel", (ch.code for c in capabilities for ch in c.channels))
    unique("scope", (s.code for c in capabilities for s in c.scopes))
    unique("message namespace", (m.namespace for c in capabilities for m in c.message_data))
    unique("journey namespace", (j.namespace for c in capabilities for j in c.journey_data))
    unique("link purpose", (t.purpose for c in capabilities for t in c.link_targets))
    unique("URL namespace", (p.namespace for c in capabilities for p in c.pages))
    unique("sending rule of the purpose", (r.purpose for c in capabilities for r in c.sending))
    unique("contact basis of the purpose", (b.purpose for c in capabilities for b in c.contact_bases))
    unique("recipients code", (r.code for c in capabilities for r in c.recipients))
    unique("personal data name", (c.personal_data.name for c in capabilities
                                  if isinstance(c.personal_data, PersonalData)))
    events = {e.code for c in capabilities for e in c.events}
    for c in capabilities:
        for listener in c.listeners:
            unknown = [e for e in listener.events if e != ANY_EVENT and e not in events]
            if unknown:
                raise DeclarationError(f"{c.name} listens to undeclared events: {', '.join(unknown)}")
    scopes = {s.code for c in capabilities for s in c.scopes}
    for c in capabilities:
        for rule in (c.api.rules.values() if c.api else ()):
            if isinstance(rule, ApiRule) and rule.scope not in scopes:
                raise DeclarationError(f"{c.name}: an API operation needs the undeclared scope {rule.scope}")


# --- look-ups derived from the declarations ------------------------------------------------------------------
def personal_data() -> list[PersonalData]:
    return [c.personal_data for c in declared() if isinstance(c.personal_data, PersonalData)]


def scopes() -> dict[str, Scope]:
    return {s.code: s for c in declared() for s in c.scopes}


def events() -> dict[str, Event]:
    return {e.code: e for c in declared() for e in c.events}


def listeners(event: str) -> list[Callable[..., Any]]:
    return [listener.handler for c in declared() for listener in c.listeners
            if event in listener.events or ANY_EVENT in listener.events]


def channels(sent: bool | None = None) -> dict[str, Channel]:
    """Every declared channel (`sent`: only those messaging sends on, or only the others)."""
    return {ch.code: ch for c in declared() for ch in c.channels if sent is None or ch.sent is sent}


def message_data() -> list[MessageData]:
    return [m for c in declared() for m in c.message_data]


def journey_data() -> dict[str, JourneyData]:
    return {j.namespace: j for c in declared() for j in c.journey_data}


def panels() -> list[Panel]:
    return [p for c in declared() for p in c.panels]


def sending_rules() -> dict[str, Sending]:
    """The send-time rules capabilities declare, by communication purpose."""
    return {r.purpose: r for c in declared() for r in c.sending}


def sending(purpose: str) -> Sending | None:
    """The send-time rules of messages of `purpose`, when a capability declares them (else the settings')."""
    return sending_rules().get(purpose)


def contact_basis(purpose: str) -> ContactBasis | None:
    """The basis a capability holds for a "declared" communication purpose (None: nobody may be reached for it)."""
    return next((b for c in declared() for b in c.contact_bases if b.purpose == purpose), None)


def recipients(code: str) -> Recipients | None:
    """The recipients a journey's send node names with `to: <code>` (None: nobody declares that code)."""
    return next((r for c in declared() for r in c.recipients if r.code == code), None)


def recipients_codes() -> list[str]:
    """Every code a journey's send node may name in `to:`."""
    return sorted(r.code for c in declared() for r in c.recipients)


def link_target(purpose: str) -> str | None:
    return next((t.url_name for c in declared() for t in c.link_targets if t.purpose == purpose), None)


def reports() -> dict[str, Callable[[], Any]]:
    return {name: build for c in declared() for name, build in c.reports.items()}


def _with_rules(entries: Iterable[Any], what: str) -> list[tuple[Any, Rule]]:
    """Entries naming a page (`url_name`) in their `order`, each with the rule of that page."""
    by_name = {f"{p.namespace}:{r.name}": r.rule for c in declared() for p in c.pages for r in p.routes if r.name}
    ordered = sorted(entries, key=lambda e: e.order)
    missing = [e.url_name for e in ordered if e.url_name not in by_name]
    if missing:
        raise DeclarationError(f"{what} lead to undeclared pages: {', '.join(missing)}")
    return [(e, by_name[e.url_name]) for e in ordered]


def nav() -> list[tuple[Nav, Rule]]:
    """Navigation entries in order, each with the rule of the page it opens."""
    return _with_rules((n for c in declared() for n in c.nav), "navigation entries")


def home_blocks() -> list[tuple[HomeBlock, Rule]]:
    """The home page's blocks in order, each with the rule of the page it leads to."""
    return _with_rules((b for c in declared() for b in c.home), "home blocks")


def public_notices() -> list[Notice]:
    """Every capability's notices for the public, newest first."""
    found = [notice for c in declared() if c.notices is not None for notice in c.notices()]
    return sorted(found, key=lambda n: n.updated, reverse=True)


def for_resident() -> list[ForResident]:
    """What every capability shows a resident about themselves, in the order of the declarations."""
    return [f for c in declared() for f in c.for_resident]


def api_routers() -> list[ApiRouter]:
    return [c.api for c in declared() if c.api is not None]


# --- the URL configuration, built from the declarations -----------------------------------------------------
def tagged(view: Callable[..., Any], rule: Rule) -> Callable[..., Any]:
    """The view wrapped for one route, carrying that route's rule (one function may serve two routes)."""

    @wraps(view)
    def routed(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    routed.access_rule = rule  # type: ignore[attr-defined]
    return routed


def urlpatterns() -> list[Any]:
    from django.urls import include, path, register_converter
    from django.urls.converters import get_converters

    from proactif.kernel.ids import IdConverter

    # Ids in paths are matched as `id` (at most 18 digits): a number past a BIGINT matches no route (404)
    # instead of overflowing in the query.
    if "id" not in get_converters():
        register_converter(IdConverter, "id")
    patterns = []
    for capability in declared():
        for pages in capability.pages:
            inner = [_path_of(r) for r in pages.routes]
            patterns.append(path(pages.prefix, include((inner, pages.namespace))))
    for capability in declared():
        for mount in capability.mounts:
            patterns.append(path(mount.prefix, include(_tag_all(mount.patterns(), mount.rule))))
    return patterns


def _path_of(declared_route: Route) -> Any:
    """A route's pattern: a regular expression when it starts with « ^ », else a `path()` pattern."""
    from django.urls import path, re_path

    view = tagged(declared_route.view, declared_route.rule)
    if declared_route.pattern.startswith("^"):
        return re_path(declared_route.pattern, view, name=declared_route.name)
    return path(declared_route.pattern.replace("<int:", "<id:"), view, name=declared_route.name)


def _tag_all(patterns: Iterable[Any], rule: Rule) -> list[Any]:
    """Every view under `patterns` wrapped to carry `rule` (the patterns are the package's own objects: each is
    tagged once, however often the URL configuration is built)."""
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _tag_all(pattern.url_patterns, rule)
        elif isinstance(pattern, URLPattern) and getattr(pattern.callback, "access_rule", None) is not rule:
            pattern.callback = tagged(pattern.callback, rule)
    return list(patterns)


# --- the walks: what no declaration covers -------------------------------------------------------------------
def _walk_patterns(patterns: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    from django.urls import URLPattern, URLResolver

    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def undeclared_routes(urlconf: str | None = None) -> list[str]:
    """URL patterns whose view carries no access rule (a route added beside the declarations)."""
    from django.urls import get_resolver

    return [route for route, callback in _walk_patterns(get_resolver(urlconf).url_patterns)
            if getattr(callback, "access_rule", None) is None]


def undeclared_operations(routers: Iterable[tuple[str, Any, Mapping[Callable[..., Any], Rule]]]) -> list[str]:
    """API operations (of (prefix, router, rules) triples) whose function no rule covers."""
    missing = []
    for prefix, router, rules in routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                if operation.view_func not in rules:
                    missing.append(f"{'/'.join(operation.methods)} {prefix}{path}")
    return missing


PERSON_FIELD_NAMES = ("person_id", "household_id")


def person_references(model: Any, subjects: set[str], declared_fields: set[str]) -> list[str]:
    """The fields of `model` that point at people: a foreign key to a people table, an integer named
    `person_id`, `*_person_id`, `household_id` or `*_household_id`, or a field a declaration lists."""
    found = []
    for f in model._meta.concrete_fields:
        label = f"{model._meta.label}.{f.name}"
        points_at_people = f.is_relation and f.related_model is not None and f.related_model._meta.label in subjects
        named_after_people = not f.is_relation and any(f.name == n or f.name.endswith("_" + n)
                                                       for n in PERSON_FIELD_NAMES)
        if points_at_people or named_after_people or label in declared_fields:
            found.append(f.name)
    return found


def uncovered_models(models: Iterable[Any] | None = None) -> list[str]:
    """Tables about people that no capability's GDPR handling covers."""
    from django.apps import apps

    handled = personal_data()
    subjects = {s for p in handled for s in p.subjects}
    declared_fields = {f for p in handled for f in p.fields}
    covered = {m for p in handled for m in p.models}
    out = []
    for model in models if models is not None else apps.get_models():
        label = model._meta.label
        if not model.__module__.startswith("proactif.") and models is None:
            continue
        if label in covered:
            continue
        refs = person_references(model, subjects, declared_fields)
        if refs or label in subjects:
            out.append(f"{label} ({', '.join(refs) or 'people'})")
    return out


def unknown_declarations() -> list[str]:
    """Tables and fields a GDPR declaration names that do not exist (a typo would hide a table from the walk)."""
    from django.apps import apps

    out = []
    for handling in personal_data():
        for label in (*handling.models, *handling.subjects, *(f.rsplit(".", 1)[0] for f in handling.fields)):
            try:
                apps.get_model(label)
            except (LookupError, ValueError):
                out.append(f"{handling.name}: no table {label}")
        for declared_field in handling.fields:
            label, name = declared_field.rsplit(".", 1)
            try:
                apps.get_model(label)._meta.get_field(name)
            except Exception:
                out.append(f"{handling.name}: no field {declared_field}")
    return sorted(set(out))


def check_declarations() -> list[str]:
    """Every problem the walks find, as lines (the system check and the tests read it)."""
    problems = [f"route without an access rule: {r}" for r in undeclared_routes()]
    problems += [f"table about people without GDPR handling: {m}" for m in uncovered_models()]
    problems += [f"GDPR declaration naming nothing: {m}" for m in unknown_declarations()]
    return problems
