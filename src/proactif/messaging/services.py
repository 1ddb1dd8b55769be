"""Messaging use cases — the entry point for journeys, use cases, views, the API and the CLI."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum

from proactif.accounts.domain import Access, Section
from proactif.audit import services as audit
from proactif.kernel import clock
from proactif.kernel.charts import Chart, Series
from proactif.messaging import _broadcast as broadcast
from proactif.messaging import _direct as direct
from proactif.messaging import _example as example_messages
from proactif.messaging import _links as links
from proactif.messaging import _outbox as outbox
from proactif.messaging import _plan as plans
from proactif.messaging import _sendtime as sendtime
from proactif.messaging import _templating as templating
from proactif.messaging import domain
from proactif.messaging._outbox import MessageSpec
from proactif.messaging.models import (
    Engagement,
    InboundMessage,
    OutboxMessage,
    PushSubscription,
    SinkMessage,
    Template,
)

__all__ = ["MessageSpec", "preview", "publish_template", "save_template", "send"]

LinkError = links.LinkError
create_link = links.create
create_links = links.create_many
Broadcast = broadcast.Broadcast
send_to_many = broadcast.send
# What the send would decide, asked ahead (previews): for persons, or for reach profiles (live counts)
Step = plans.Step
plan = plans.plan
plan_profiles = plans.plan_profiles
push_subscribers = plans.push_subscribers
push_stamp = plans.push_stamp
# A message as a resident will receive it, before it goes (an example resident, a link of the real length)
Example = example_messages.Example
render_examples = example_messages.render_examples
link_token = links.token_for
LinkRequest = links.LinkRequest
open_link = links.open_link
Window = sendtime.Window
TemplateError = templating.TemplateError
compile_condition = templating.compile_condition  # journey conditions use the templates' sandbox
OUTBOX_STATUSES = OutboxMessage.STATUS
# Messages addressed to a contact value (MessageSpec(person_id=None, address=…, policy=[channel])): the channels
# they may go on, and for the GDPR of the person the contact is attached to (by an id of the message's context)
DIRECT_CHANNELS = domain.DIRECT_CHANNELS
direct_address = domain.direct_address  # (policy, address) → the value stored, or ValueError (in French)


def direct_messages(context_key: str, ids: list[int]) -> QuerySet[OutboxMessage]:
    """Messages sent to contact values (no person) whose context names one of `ids` under `context_key`."""
    return direct.direct_messages(context_key, ids)


def erase_direct(context_key: str, ids: list[int]) -> int:
    """Those messages blanked (recipient, subject, body, context but its ids), the replies to them deleted, the
    unsent ones cancelled; returns how many."""
    return direct.erase_direct(context_key, ids)


# --- templates ------------------------------------------------------------------------------
def save_template(key: str, channel: str, body: str, *, subject: str = "", language: str = "fr", name: str = "",
                  author: str = "", publish: bool = False) -> Template:
    """A new version of a template (or the current draft updated). Refuses unknown placeholders now."""
    if channel not in domain.CHANNELS:
        raise templating.TemplateError([f"canal inconnu : {channel}"])
    if not key.strip() or not body.strip():
        raise templating.TemplateError(["la clé et le texte du modèle sont obligatoires"])
    if channel in ("email", "letter", "push") and not subject.strip():
        raise templating.TemplateError([f"un modèle {channel} a un objet (titre)"])
    known = catalogue()
    used = templating.check(body, known) + (templating.check(subject, known) if subject else [])
    templating.trial_render(body, known)
    now = clock.now()
    with transaction.atomic():
        draft = Template.objects.select_for_update().filter(key=key, channel=channel, language=language,
                                                            status="draft").first()
        latest = Template.objects.filter(key=key, channel=channel, language=language).order_by("-version").first()
        if draft is None:
            draft = Template(key=key, channel=channel, language=language,
                             version=(latest.version + 1) if latest else 1, created_at=now)
        draft.subject, draft.body, draft.name, draft.created_by = subject, body, name or key, author[:254]
        draft.placeholders = sorted(set(used))
        draft.save()
        if publish:
            publish_template(draft.pk)
            draft.refresh_from_db()
    return draft


def catalogue() -> dict[str, tuple[str, ...] | None]:
    """What templates may use: messaging's own data and the namespaces capabilities declare."""
    from proactif.kernel import capabilities

    known = dict(templating.BASE_CATALOGUE)
    for data in capabilities.message_data():
        known[data.namespace] = data.fields
        known.update(data.roots)
    return known


def load_templates(path: Any, author: str = "système") -> int:
    """Publish the templates of a YAML file whose text differs from the published version (idempotent)."""
    from pathlib import Path

    import yaml

    changed = 0
    items = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    names: dict[str, str] = {}  # a key's name, given once for all its channels (« Rendez-vous confirmé »)
    for item in items:
        if item.get("name"):
            names.setdefault(item["key"], item["name"])
    for key, name in names.items():  # what agents read in lists: named even where the text did not change
        Template.objects.filter(key=key, name="").update(name=name)
    for item in items:
        language = item.get("language", "fr")
        current = Template.objects.filter(key=item["key"], channel=item["channel"], language=language,
                                          status="published").first()
        if current and current.body == item["body"] and current.subject == item.get("subject", ""):
            continue
        if current and current.created_by != author:
            continue  # an agent changed it since: their version stays
        save_template(item["key"], item["channel"], item["body"], subject=item.get("subject", ""), language=language,
                      name=names.get(item["key"], ""), author=author, publish=True)
        changed += 1
    return changed


def publish_template(template_id: int) -> Template:
    """Make this version the one sent; the previous published version is archived (kept, immutable)."""
    now = clock.now()
    with transaction.atomic():
        template = Template.objects.select_for_update().get(pk=template_id)
        if template.status == "published":
            return template
        Template.objects.filter(key=template.key, channel=template.channel, language=template.language,
                                status="published").update(status="archived")
        template.status, template.published_at = "published", now
        template.save(update_fields=["status", "published_at"])
    return template


def templates() -> QuerySet[Template]:
    return Template.objects.exclude(status="archived").order_by("key", "channel", "language", "-version")


def template_versions(key: str) -> QuerySet[Template]:
    return Template.objects.filter(key=key).order_by("channel", "language", "-version")


def uses_placeholder(template_key: str, placeholder: str) -> bool:
    """Whether a published version of the template (any channel) reads `placeholder`."""
    return any(placeholder in (used or []) for used in Template.objects.filter(
        key=template_key, status="published").values_list("placeholders", flat=True))


def get_template(template_id: int) -> Template:
    return Template.objects.get(pk=template_id)


def sms_info(text: str) -> dict[str, Any]:
    length = domain.sms_length(text)
    safe = domain.gsm_safe(text)
    safe_length = domain.sms_length(safe)
    return {"encoding": length.encoding, "characters": len(text), "units": length.units,
            "segments": length.segments, "per_segment": length.per_segment, "offending": list(length.offending),
            "gsm_safe": safe, "gsm_safe_segments": safe_length.segments}


def preview(access: Access, template_id: int, person_id: int, context: dict[str, Any] | None = None) -> (
        tuple[templating.Rendered, list[str]]):
    """The template rendered with a real person's data (a read of their data: logged), and the data it names
    that no message gave (a document, an appointment…) filled with the declared examples, listed."""
    from proactif.messaging import _context as contexts
    from proactif.registry import services as registry

    access.require(Section.IDENTITE)
    template = Template.objects.get(pk=template_id)
    reach = registry.reachable([person_id], "rappels_echeances").get(person_id)
    if reach is None:
        raise templating.MissingData("habitant inconnu")
    data = contexts.build_many([(0, context or {}, reach)])[0]
    examples = contexts.fill_examples(data, template.subject + "\n" + template.body)
    audit.record(access.actor, "preview", purpose=access.purpose, person_ids=[person_id],
                 sections=[Section.IDENTITE.value], detail={"template": template.pk})
    return templating.render(template.subject, template.body, data, channel=template.channel), examples


# --- sending --------------------------------------------------------------------------------
def next_sending_time(moment: datetime, purpose: str | None = None) -> datetime | None:
    """When non-urgent messages (of `purpose`: its declared sending rules) may next leave, if not at `moment`
    (quiet hours, Sundays, public holidays)."""
    allowed = plans.quiet_hours(purpose).next_allowed(moment)
    return None if allowed == moment else allowed


STATUS_LABELS = dict(OutboxMessage.STATUS)
CHANNEL_LABELS = domain.CHANNEL_LABELS


def labelled_counts(by_channel: dict[str, dict[str, int]]) -> list[tuple[str, list[tuple[str, int]]]]:
    """Messages by channel and status as an agent reads them (« SMS : Envoyé 180, Annulé 25 »), not as codes."""
    return [(CHANNEL_LABELS.get(channel, channel), [(STATUS_LABELS.get(status, status), n)
                                                     for status, n in statuses.items()])
            for channel, statuses in by_channel.items()]


def withdraw(keys: list[str], reason: str) -> int:
    """Cancel the messages of these idempotency keys that no sender has claimed yet (a confirmation queued for
    the morning, its appointment cancelled in the night): the ones already sending or sent are not taken back."""
    return OutboxMessage.objects.filter(idempotency_key__in=keys, status="created").update(status="cancelled",
                                                                                           error=reason)


drain = outbox.drain  # send everything due now, in this process
persist_messages = outbox.persist  # rows only: the caller queues them after its transaction (dispatch)
dispatch = outbox.dispatch


def sending_day(day: date) -> bool:
    """Whether non-urgent messages go out at all on `day` (not a Sunday or public holiday, as configured)."""
    return sending_days()(day)


def sending_days(purpose: str | None = None) -> Callable[[date], bool]:
    """Whether non-urgent messages of `purpose` go out at all on a day: its declared sending rules (every day, or
    not), else the settings' — the rules read once, for a batch of journeys asking day after day."""
    quiet = plans.quiet_hours(purpose)
    return lambda day: quiet.allows(datetime.combine(day, quiet.start, quiet.tz))


def send(specs: Iterable[MessageSpec]) -> dict[str, int]:
    """Persist the messages and queue them once the current transaction commits."""
    return outbox.enqueue(specs)


def best_send_times(person_ids: list[int], window: sendtime.Window, now: datetime | None = None) -> (
        dict[int, datetime]):
    """Per person, the best moment within `window` over the coming week (the holdout gets the first)."""
    now = now or clock.now()
    tz = clock.local_tz()
    candidates = window.candidates(now, tz)
    if not candidates:
        return dict.fromkeys(person_ids, now)
    counts = sendtime.counts_from(
        Engagement.objects.filter(person_id__any=person_ids).values_list("person_id", "hour_of_week")
        .annotate(n=Count("id")).values_list("person_id", "hour_of_week", "n"))
    prior = _population_prior()
    hours = [sendtime.hour_of_week(moment, tz) for moment in candidates]
    everyone = sendtime.best_time(None, prior, candidates, False, hours)  # for those without engagement history
    first = candidates[0]  # for the holdout
    return {pid: first if sendtime.in_holdout(pid) else everyone if pid not in counts
            else sendtime.best_time(counts[pid], prior, candidates, False, hours) for pid in person_ids}


_prior_cache: tuple[float, list[float]] | None = None


def _population_prior() -> list[float]:
    import time

    global _prior_cache
    if _prior_cache is None or time.monotonic() - _prior_cache[0] > 3600:
        population = [0.0] * sendtime.HOURS
        for hour, n in Engagement.objects.values_list("hour_of_week").annotate(n=Count("id")).values_list(
                "hour_of_week", "n"):
            population[hour] = float(n)
        _prior_cache = (time.monotonic(), sendtime.prior(population))
    return _prior_cache[1]


def sms_sent_between(start: datetime, end: datetime, template_keys: list[str]) -> QuerySet[OutboxMessage]:
    """SMS of these templates sent to residents in [start, end) (what the synthetic residents answer)."""
    return OutboxMessage.objects.filter(sent_at__gte=start, sent_at__lt=end, status__in=("sent", "delivered"),
                                        channel="sms", template_key__in=template_keys, person_id__isnull=False)


def replied_to(message_ids: list[int]) -> set[int]:
    """The messages among these that an inbound message already answered."""
    return set(InboundMessage.objects.filter(message_id__any=message_ids).values_list("message_id", flat=True))


def receive_sms(sender: str, text: str, provider: str = "simulation") -> str:
    """An SMS arriving from `sender` as a provider's webhook would deliver it (STOP, or a reply published to the
    capabilities): the synthetic residents' answers in demos and simulations."""
    from proactif.messaging import _receipts as receipts

    return receipts.record_inbound("sms", provider, sender, text)


def sent_with_links(start: datetime, end: datetime) -> QuerySet[OutboxMessage]:
    """Messages sent in [start, end) that carried a citizen link."""
    return OutboxMessage.objects.filter(sent_at__gte=start, sent_at__lt=end, status__in=("sent", "delivered"),
                                        context__has_key="lien_id")


def push_public_key() -> str:
    """The VAPID public key browsers subscribe with (base64url)."""
    from pathlib import Path

    from django.conf import settings

    from proactif.messaging._channels.push import application_server_key, vapid_key_file

    return application_server_key(vapid_key_file(settings.PUSH_VAPID_PRIVATE_KEY, Path(settings.HOME)))


def subscribe_push(person_id: int, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"person_id": person_id, "p256dh": p256dh, "auth": auth,
                                     "created_at": clock.now(), "revoked_at": None})
    return subscription


# --- reading --------------------------------------------------------------------------------
def messages_for_instance(instance_id: int) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(instance_id=instance_id).order_by("created_at", "id")


def reached_instances(instance_ids: list[int]) -> set[int]:
    """The journey instances among these whose person a message has already reached (sent or delivered)."""
    return set(OutboxMessage.objects.filter(instance_id__any=instance_ids, person_id__isnull=False,
                                            status__in=("sent", "delivered")).values_list("instance_id", flat=True))


def messages_for_instances(instance_ids: list[int]) -> dict[int, list[OutboxMessage]]:
    out: dict[int, list[OutboxMessage]] = defaultdict(list)
    for message in OutboxMessage.objects.filter(instance_id__in=instance_ids).order_by("created_at", "id"):
        out[message.instance_id].append(message)  # type: ignore[index]
    return out


def instances_with_message(trigger_key: str, template_key: str, channel: str, limit: int = 5000) -> list[int]:
    """Journey instances of `trigger_key` that sent `template_key` on `channel`."""
    return list(OutboxMessage.objects.filter(trigger=f"journey:{trigger_key}"[:50], template_key=template_key,
                                             channel=channel).exclude(instance_id=None)
                .values_list("instance_id", flat=True)[:limit])


def person_messages(person_id: int) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(person_id=person_id).order_by("-created_at", "-id")


def replies_for_instance(instance_id: int) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(instance_id=instance_id).order_by("received_at")


def service_scope(access: Access) -> str | None:
    """Whose messages an agent reads: their service's (the texts hold what a service told a resident); the DPO
    and the administrator (the built-in sinks of a demo) everyone's."""
    return None if access.purpose in ("rgpd", "tenue_registre") else (access.actor.service or "")


def outbox_messages(status: str = "", channel: str = "", lane: str = "",
                    service: str | None = None) -> QuerySet[OutboxMessage]:
    qs = OutboxMessage.objects.all() if service is None else OutboxMessage.objects.filter(service=service)
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    if lane:
        qs = qs.filter(lane=lane)
    return qs.order_by("-created_at", "-id")


def sink_messages(channel: str = "", query: str = "", service: str | None = None) -> QuerySet[SinkMessage]:
    """What the built-in sinks received (whole texts, live links included): a service sees the messages it sent."""
    qs = SinkMessage.objects.all()
    if service is not None:
        qs = qs.filter(idempotency_key__in=OutboxMessage.objects.filter(service=service).values("idempotency_key"))
    if channel:
        qs = qs.filter(channel=channel)
    if query:
        qs = qs.filter(Q(recipient__icontains=query) | Q(subject__icontains=query))
    return qs


def delivery_stats() -> dict[str, Any]:
    """Messages per channel and status, and per provider with delivery rate and failures."""
    by_channel: dict[str, Counter[str]] = defaultdict(Counter)
    for channel, status, n in OutboxMessage.objects.values_list("channel", "status").annotate(n=Count("id")) \
            .values_list("channel", "status", "n"):
        by_channel[channel or "à choisir"][status] += n
    by_provider = []
    for provider, channel, status, n in OutboxMessage.objects.exclude(provider="").values_list(
            "provider", "channel", "status").annotate(n=Count("id")).values_list("provider", "channel", "status", "n"):
        by_provider.append({"provider": provider, "channel": channel, "status": status, "n": n})
    providers: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for row in by_provider:
        providers[(row["provider"], row["channel"])][row["status"]] += row["n"]
    return {
        "channels": {c: dict(v) for c, v in sorted(by_channel.items())},
        "providers": [{"provider": p, "channel": c, "total": sum(v.values()), "delivered": v["delivered"],
                       "sent": v["sent"], "failed": v["failed"],
                       # e-mail and letters have no delivery receipts: no rate rather than a false 0 %
                       "delivery_rate": round(100 * v["delivered"] / max(1, v["delivered"] + v["sent"] + v["failed"]))
                       if c in ("sms", "push") else None}
                      for (p, c), v in sorted(providers.items())],
        "deferred_now": OutboxMessage.objects.filter(status="created", not_before__gt=clock.now()).count(),
    }


def deliveries_chart(service: str | None, days: int = 14) -> Chart:
    """Messages sent per day and channel over the last `days` days (the service's own, or everyone's)."""
    from django.db.models.functions import TruncDate

    tz = clock.local_tz()
    first = clock.today() - timedelta(days=days - 1)
    qs = OutboxMessage.objects.filter(sent_at__gte=datetime.combine(first, datetime.min.time(), tzinfo=tz))
    if service is not None:
        qs = qs.filter(service=service)
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for day, channel, n in qs.annotate(day=TruncDate("sent_at", tzinfo=tz)).values_list("day", "channel").annotate(
            n=Count("id")).values_list("day", "channel", "n"):
        counts[channel][day] += n
    dates = [first + timedelta(days=i) for i in range(days)]
    series = tuple(Series(CHANNEL_LABELS.get(channel, channel), tuple(by_day.get(d, 0) for d in dates))
                   for channel, by_day in sorted(counts.items(), key=lambda kv: -sum(kv[1].values())))
    return Chart("envois-par-canal", f"Messages envoyés par canal, {days} derniers jours",
                 tuple(f"{d.day}/{d.month:02d}" for d in dates), series, unit="messages", label_header="Jour")


def home_deliveries(access: Access) -> dict[str, Any]:
    """The home page's block: the chart of the messages sent, and the failures of the last seven days — kept five
    minutes per service and outbox size (an outbox of millions is not counted again at every home page)."""
    from django.core.cache import cache
    from django.db.models import Max

    service = service_scope(access)
    top = OutboxMessage.objects.aggregate(top=Max("id"))["top"] or 0
    key = f"proactif:home-deliveries:{service}:{top}:{clock.today().isoformat()}"
    return cache.get_or_set(key, lambda: _home_deliveries(service), 300)


def _home_deliveries(service: str | None) -> dict[str, Any]:
    week = clock.now() - timedelta(days=7)
    qs = OutboxMessage.objects.filter(updated_at__gte=week)
    if service is not None:
        qs = qs.filter(service=service)
    waiting = OutboxMessage.objects.filter(status="created")
    if service is not None:
        waiting = waiting.filter(service=service)
    return {"chart": deliveries_chart(service), "failed": qs.filter(status="failed").count(),
            "waiting": waiting.count()}


def home_sinks(access: Access) -> dict[str, Any] | None:
    """The home block of the built-in sinks (a demo, a test platform): what they caught per channel, the latest
    message's time; none when the sinks do not run (production)."""
    from django.conf import settings

    if not settings.SINKS:
        return None
    caught = sink_messages(service=service_scope(access))
    per_channel = dict(caught.values_list("channel").annotate(n=Count("id")).values_list("channel", "n"))
    return {"per_channel": [(CHANNEL_LABELS.get(c, c), n) for c, n in sorted(per_channel.items())],
            "total": sum(per_channel.values())}


def counts_by_channel_and_status(trigger: str | None = None) -> dict[str, dict[str, int]]:
    """Messages per channel and status, for one trigger (`journey:titres-identite`) or all."""
    qs = OutboxMessage.objects.all()
    if trigger is not None:
        qs = qs.filter(trigger=trigger)
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, status, n in qs.values_list("channel", "status").annotate(n=Count("id")).values_list(
            "channel", "status", "n"):
        out[channel or "-"][status] = n
    return dict(out)


valid_link = links.valid


def push_endpoint_allowed(endpoint: str) -> bool:
    """A subscription's endpoint is a browser push service's (PROACTIF_PUSH_SERVICES; the demo's sink too): the
    platform never posts to a host a visitor chose."""
    from urllib.parse import urlsplit

    from django.conf import settings

    if len(endpoint) > 800:
        return False
    if settings.SINKS and endpoint.startswith(f"http://127.0.0.1:{settings.SINK_HTTP_PORT}/push/"):
        return True
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme != "https" or parts.port not in (None, 443) or parts.username or parts.password:
        return False
    return any(host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:]))
               for allowed in settings.PUSH_SERVICES)
remember_link = links.remember  # (session, link): the browser session keeps the citizen's link
link_in_session = links.in_session  # (session, purpose) → the valid link of that purpose opened there


def read_message(access: Access, message_id: int) -> OutboxMessage:
    """One message as sent (text and recipient): a read of the person's data, logged."""
    access.require(Section.PARCOURS)
    service = service_scope(access)
    row = (OutboxMessage.objects if service is None else OutboxMessage.objects.filter(service=service)).get(
        pk=message_id)  # another service's message does not exist for this agent
    audit.record(access.actor, "view", purpose=access.purpose, person_ids=[row.person_id],
                 sections=[Section.PARCOURS.value], detail={"message": row.pk})
    return row


def template_names() -> dict[str, str]:
    """Each template key's name as agents read it (« Rappel de rendez-vous »), from its latest version."""
    names: dict[str, str] = {}
    for key, name in Template.objects.exclude(name="").order_by("key", "-version").values_list("key", "name"):
        names.setdefault(key, name)
    return names


def record_outbox_view(access: Access, person_ids: list[int | None], action: str = "view") -> None:
    """A page of the outbox: which residents' messages the agent saw (masked recipients), logged (`action`
    "export" when they leave as a file)."""
    ids = sorted({pk for pk in person_ids if pk is not None})
    if ids:
        audit.record(access.actor, action, purpose=access.purpose, person_ids=ids,
                     sections=[Section.PARCOURS.value], detail={"list": "outbox"})


def _persons_of(keys: list[str]) -> list[int | None]:
    ids = sorted(set(OutboxMessage.objects.filter(idempotency_key__in=keys).exclude(person_id=None)
                     .values_list("person_id", flat=True)))
    return list(ids) or [None]


def record_sink_view(access: Access, channel: str, query: str, keys: list[str]) -> None:
    """A page of the sinks' inbox: the residents whose messages it shows, logged."""
    audit.record(access.actor, "view_sink", purpose=access.purpose, person_ids=_persons_of(keys),
                 sections=[Section.PARCOURS.value], detail={"channel": channel, "search": bool(query)})


def record_letter_download(access: Access, batch_id: int, manifest: Any) -> None:
    """A batch of letters downloaded: the residents it is addressed to (its manifest's references), logged."""
    import csv
    from pathlib import Path

    keys: list[str] = []
    path = Path(manifest)
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as handle:
            keys = [row["reference"] for row in csv.DictReader(handle, delimiter=";") if row.get("reference")]
    audit.record(access.actor, "download_letters", purpose=access.purpose, person_ids=_persons_of(keys),
                 sections=[Section.ADRESSES.value], detail={"batch": batch_id})


def sink_stats() -> dict[str, Any]:
    """What the sinks received: messages per channel, and submissions beyond the first (duplicates)."""
    rows = SinkMessage.objects.values_list("channel").annotate(n=Count("id"), total=Sum("submissions"))
    return {channel: {"messages": n, "duplicates": (total or 0) - n} for channel, n, total in
            rows.values_list("channel", "n", "total")}


def simulation_report() -> dict[str, Any]:
    """Messages per channel and status, what the sinks received (and any duplicate), letters printed."""
    from proactif.messaging.models import LetterBatch

    return {"by_channel": counts_by_channel_and_status(), "sinks": sink_stats(),
            "letters_printed": LetterBatch.objects.aggregate(n=Sum("count"))["n"] or 0,
            "deferred": OutboxMessage.objects.filter(status="created").count()}


# --- the built-in sinks beside a server or a simulation ------------------------------------------------------
class _SinksAlongside:
    """The sinks this process started: `step()` applies their receipts after each simulated step (in the
    simulation's thread: one writer for SQLite); `stop()` drains and stops them."""

    def __init__(self, running: Any):
        self.running = running

    def step(self) -> None:
        self.running.pump()

    def stop(self) -> None:
        from proactif.messaging import _sinks as sinks

        self.running.drain()
        sinks.stop()


def run_sinks(receipts: str, receipt_delay: float) -> Any:
    """The built-in sinks in this process (`proactif sinks`): the running servers (`.drain(seconds)`)."""
    from django.conf import settings

    from proactif.messaging import _sinks as sinks

    return sinks.start(settings.SINK_HTTP_PORT, settings.SINK_SMTP_PORT, receipts=receipts,
                       receipt_delay=receipt_delay)


def stop_sinks() -> None:
    from proactif.messaging import _sinks as sinks

    sinks.stop()


def start_sinks(simulation: bool = False) -> _SinksAlongside | None:
    """The built-in sinks, when PROACTIF_SINKS is on. A port already taken (a demo server running) means its
    sinks receive the messages."""
    from django.conf import settings

    from proactif.kernel.logging import get_logger
    from proactif.messaging import _providers as providers
    from proactif.messaging import _sinks as sinks

    if not settings.SINKS:
        return None
    try:
        running = sinks.start(settings.SINK_HTTP_PORT, settings.SINK_SMTP_PORT,
                              receipts="manual" if simulation else "http")
    except OSError as exc:
        get_logger(__name__).warning("sinks not started: port in use", error=str(exc))
        return None
    providers.reset()
    return _SinksAlongside(running)


# --- bounces and complaints about e-mails (`_feedback`) -------------------------------------------------------------
def apply_email_feedback(provider: str, report: bytes) -> dict[str, int]:
    """A DSN (RFC 3464) or ARF (RFC 5965) report received otherwise than by the webhook (a bounce mailbox read by
    a job): {"applied", "already", "unknown", "stopped"}; ValueError when it is not such a report."""
    from proactif.messaging import _feedback as feedback

    return feedback.apply(provider, report)


def email_stopped(address: str) -> bool:
    """Whether bounces or complaints stopped this address (1 hard bounce, 3 soft ones or 1 complaint)."""
    from proactif.messaging import _feedback as feedback

    return feedback.stopped(address)
