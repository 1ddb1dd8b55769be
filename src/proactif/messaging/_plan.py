"""What becomes of a message when it leaves — the rules `decide` applies at send time — and the same rules
asked ahead, for a preview: `plan` for given persons (what the send would decide now, message by message),
`plan_profiles` for reach profiles (a live count over many residents, each profile decided once).

The quiet hours and the frequency caps are the settings', except for a communication purpose a capability
declares sending rules for (`kernel.capabilities.Sending`): its own hours, every day or not, capped or not — an
uncapped message is neither held back by the caps nor counted in them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from proactif.kernel import capabilities, clock
from proactif.messaging import domain
from proactif.messaging.models import OutboxMessage, PushSubscription, Template
from proactif.registry import services as registry


def published_templates(keys: set[str]) -> dict[tuple[str, str, str], Template]:
    latest: dict[tuple[str, str, str], Template] = {}
    for template in Template.objects.filter(key__in=keys, status="published").order_by("version"):
        latest[(template.key, template.channel, template.language)] = template
    return latest


def quiet_hours(purpose: str | None = None) -> domain.QuietHours:
    """When non-urgent messages (of `purpose`) may leave: PROACTIF_QUIET_HOURS, on Sundays and public holidays as
    configured — or the hours the purpose's declared sending rules give, every day when they say so."""
    from django.conf import settings

    rule = capabilities.sending(purpose) if purpose else None
    start, end = domain.parse_hours(rule.hours() if rule else settings.QUIET_HOURS)
    every_day = rule is not None and rule.every_day
    return domain.QuietHours(start, end, every_day or settings.QUIET_SUNDAYS, every_day or settings.QUIET_HOLIDAYS,
                             settings.ALSACE_MOSELLE, clock.local_tz())


def caps(purpose: str | None = None) -> domain.Caps | None:
    """The frequency caps non-urgent messages (of `purpose`) meet; None when the purpose's declared sending rules
    leave them uncapped."""
    from django.conf import settings

    rule = capabilities.sending(purpose) if purpose else None
    if rule is not None and not rule.capped:
        return None
    return domain.Caps(settings.CAP_PER_DAY, settings.CAP_PER_WEEK)


def uncapped_purposes() -> list[str]:
    """The communication purposes whose messages the caps do not count."""
    return sorted(code for code, rule in capabilities.sending_rules().items() if not rule.capped)


@dataclass(frozen=True)
class Step:
    """What becomes of a message now, before it is rendered: sent on a channel, deferred, cancelled, failed."""

    action: str  # send | defer | cancel | fail
    channel: str = ""
    reason: str = ""
    not_before: datetime | None = None
    fell_back: tuple[str, ...] = ()  # (a plan) the channels failed before this one, each followed by a fallback


GONE = "personne inconnue, partie ou décédée"


def next_step(policy: list[str], tried: list[str], lane: str, recipient: domain.Recipient,
              has_template: Callable[[str], bool], now: datetime, quiet: domain.QuietHours,
              caps: domain.Caps | None, sent: list[datetime]) -> Step:
    """The rules a message meets when it leaves, for a person who can be found (`GONE` otherwise): the first
    channel of the policy they can be reached and may be contacted on; the quiet hours and the frequency caps
    (not on the urgent lane; `sent`, the person's recent messages, gets this one; `caps` None: an uncapped
    message, neither held back nor counted); a published template for the channel. The send (`decide`) and its
    preview (`plan`) both ask this."""
    channel = domain.choose_channel(policy, recipient, tried)
    if channel is None:
        return Step("cancel", reason="opposition ou consentement absent pour tous les canaux" if not recipient.allowed
                    else "aucun canal joignable" if not tried else "plus de canal de repli")
    urgent = lane == "urgent"
    if not urgent and channel != "letter" and not quiet.allows(now):
        return Step("defer", channel, "quiet_hours", quiet.next_allowed(now))
    if not urgent and caps is not None:
        release = domain.cap_release(sent, now, caps)
        if release is not None:
            return Step("defer", channel, "cap", quiet.next_allowed(release))
        sent.append(now)  # a second message to the same person in this batch counts
    if not has_template(channel):
        return Step("fail", channel, "aucun modèle publié pour le canal " + channel)
    return Step("send", channel)


@dataclass
class Inputs:
    """What deciding reads, loaded once for a batch: the persons' reach, push subscriptions, recent messages
    (those the caps count), the quiet hours and the caps of each purpose, and the templates."""

    people: dict[int, registry.Reachable]
    pushes: dict[int, PushSubscription]
    sent: dict[int, list[datetime]]
    rules: dict[str, tuple[domain.QuietHours, domain.Caps | None]]
    templates: dict[tuple[str, str, str], Template]

    def sending(self, purpose: str) -> tuple[domain.QuietHours, domain.Caps | None]:
        """The quiet hours and the caps (None: uncapped) of messages of `purpose`."""
        if purpose not in self.rules:
            self.rules[purpose] = (quiet_hours(purpose), caps(purpose))
        return self.rules[purpose]

    def recipient(self, reach: registry.Reachable) -> tuple[domain.Recipient, dict[str, str]]:
        addresses = dict(reach.addresses)
        if reach.person_id in self.pushes:
            addresses["push"] = self.pushes[reach.person_id].endpoint
        return domain.Recipient(reach.preferences, addresses, reach.allowed), addresses

    def template(self, key: str, channel: str, langue: str) -> Template | None:
        return template_for(self.templates, key, channel, langue)


def template_for(templates: dict[tuple[str, str, str], Template], key: str, channel: str,
                 langue: str) -> Template | None:
    """The template a message in this language gets on this channel: in the language, else in French."""
    return templates.get((key, channel, langue)) or templates.get((key, channel, "fr"))


def has_template(templates: dict[tuple[str, str, str], Template], key: str, langue: str) -> Callable[[str], bool]:
    def found(channel: str) -> bool:
        return template_for(templates, key, channel, langue) is not None

    return found


def load_inputs(by_purpose: dict[str, list[int]], template_keys: set[str], now: datetime) -> Inputs:
    people: dict[int, registry.Reachable] = {}
    for purpose, person_ids in by_purpose.items():
        people.update(registry.reachable(person_ids, purpose))
    pushes: dict[int, PushSubscription] = {
        s.person_id: s for s in PushSubscription.objects.filter(person_id__any=list(people), revoked_at__isnull=True)}
    sent: dict[int, list[datetime]] = defaultdict(list)
    counted = OutboxMessage.objects.filter(person_id__any=list(people), sent_at__gte=now - timedelta(days=7)).exclude(
        lane="urgent")
    uncapped = uncapped_purposes()
    if uncapped:  # the check-ins of a heatwave do not hold back the town's newsletter
        counted = counted.exclude(purpose__in=uncapped)
    for person_id, sent_at in counted.values_list("person_id", "sent_at"):
        sent[person_id].append(sent_at)
    return Inputs(people, pushes, sent, {}, published_templates(template_keys))


def _through_fallbacks(policy: list[str], lane: str, recipient: domain.Recipient, has_template: Callable[[str], bool],
                       now: datetime, quiet: domain.QuietHours, limits: domain.Caps | None,
                       sent: list[datetime]) -> Step:
    """The first message's step and, when it fails, its fallback's (`outbox.create_fallbacks`: the next channel,
    the failed ones tried) — until one is not a failure or every channel has been tried."""
    tried: list[str] = []
    while True:
        step = next_step(policy, tried, lane, recipient, has_template, now, quiet, limits, sent)
        if step.action != "fail" or len(tried) + 1 >= len(domain.CHANNELS):
            return replace(step, fell_back=tuple(tried))
        tried.append(step.channel)


PLAN_CHUNK = 5_000  # persons read at once (the database's limit on a query's parameters)


def plan(person_ids: Sequence[int], purpose: str, policy: list[str], lane: str, template_key: str,
         now: datetime | None = None) -> dict[int, Step]:
    """What the send would decide now for a message to each of these persons — its fallbacks followed when a
    channel fails for want of a template (provider failures, unforeseeable, are not)."""
    now = now or clock.now()
    out = {}
    for start in range(0, len(person_ids), PLAN_CHUNK):
        chunk = list(person_ids[start:start + PLAN_CHUNK])
        inputs = load_inputs({purpose: chunk}, {template_key}, now)
        quiet, limits = inputs.sending(purpose)
        for person_id in chunk:
            reach = inputs.people.get(person_id)
            if reach is None or not reach.active:
                out[person_id] = Step("cancel", reason=GONE)
                continue
            recipient, _ = inputs.recipient(reach)
            out[person_id] = _through_fallbacks(policy, lane, recipient,
                                                has_template(inputs.templates, template_key, reach.langue), now,
                                                quiet, limits, inputs.sent[person_id])
    return out


def plan_profiles(profiles: Sequence[tuple[registry.ReachProfile, bool]], policy: list[str], template_key: str,
                  now: datetime | None = None, purpose: str | None = None) -> list[Step]:
    """What the send would decide now for a resident of each (reach profile, holds a push subscription), on
    the urgent lane — the only one where a person's recent messages (the frequency caps) play no part; the
    quiet hours are those of `purpose` (which the urgent lane does not meet either)."""
    now = now or clock.now()
    templates = published_templates({template_key})
    quiet, limits = quiet_hours(purpose), caps(purpose)

    out = []
    for profile, push in profiles:
        addresses = {channel: channel for channel in profile.addresses}
        if push:
            addresses["push"] = "push"
        recipient = domain.Recipient(profile.preferences, addresses, profile.allowed)
        out.append(_through_fallbacks(policy, "urgent", recipient,
                                      has_template(templates, template_key, profile.langue), now, quiet, limits, []))
    return out


def push_subscribers() -> list[int]:
    """The persons holding a live push subscription."""
    return sorted(set(PushSubscription.objects.filter(revoked_at__isnull=True).values_list("person_id", flat=True)))


def push_stamp() -> tuple[object, ...]:
    """Changes when a push subscription is added or revoked."""
    from django.db.models import Count, Max

    return tuple(PushSubscription.objects.aggregate(top=Max("id"), revoked=Count("revoked_at")).values())
