"""Journey definitions are checked before they are published, with every problem listed in French; the
stepping function is pure; a segment entry starts the journey for the segment's members."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from proactif.journeys import domain

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "proactif" / "deadlines" / "journeys"
RIGHTS = SHIPPED.parents[1] / "rights" / "journeys"


def compile_definition(source: str, **checks: object) -> dict:
    """A definition checked against the events and channels the capabilities declare."""
    from proactif.kernel import capabilities

    return domain.compile_definition(source, known_events=tuple(capabilities.events()),
                                     known_channels=tuple(capabilities.channels(sent=True)), **checks)
MINIMAL = """
key: essai
name: Essai
service: communication
purpose: information
entry: {type: event, event: link_clicked}
start: bonjour
nodes:
  bonjour: {type: send, template: essai.bonjour, next: attente}
  attente: {type: wait_for_event, events: [reply_received], timeout: 3 days, on_event: fin, on_timeout: relance}
  relance: {type: send, template: essai.bonjour, next: fin}
  fin: {type: end, outcome: fini}
"""


def test_the_shipped_journeys_compile() -> None:
    for path in sorted(SHIPPED.glob("*.yaml")):
        spec = compile_definition(path.read_text(encoding="utf-8"))
        assert spec["nodes"] and spec["entry"]["type"] == "date"
    rights = compile_definition((RIGHTS / "droits-possibles.yaml").read_text(encoding="utf-8"))
    assert rights["entry"] == {"type": "event", "event": "right_detected"}


def test_events_and_channels_are_those_the_capabilities_declare() -> None:
    """WhatsApp and Messenger, which messaging sends on, are journey channels too; an undeclared event or
    channel is refused with the declared ones listed."""
    whatsapp = MINIMAL.replace("template: essai.bonjour, next: attente",
                               "template: essai.bonjour, channels: [whatsapp, messenger, sms], next: attente")
    assert compile_definition(whatsapp)["nodes"]["bonjour"]["channels"] == ["whatsapp", "messenger", "sms"]
    pigeon = MINIMAL.replace("template: essai.bonjour, next: attente",
                             "template: essai.bonjour, channels: [pigeon], next: attente")
    with pytest.raises(domain.DefinitionError, match="canal inconnu « pigeon »"):
        compile_definition(pigeon)
    unknown_entry = MINIMAL.replace("event: link_clicked", "event: lien_clique")
    with pytest.raises(domain.DefinitionError, match="entrée : événement inconnu « lien_clique »"):
        compile_definition(unknown_entry)


def test_every_problem_is_listed_at_once() -> None:
    broken = MINIMAL.replace("next: attente", "next: atente").replace("timeout: 3 days", "timeout: trois jours") \
        .replace("events: [reply_received]", "events: [reply_recieved]") + "  orpheline: {type: end}\n"
    with pytest.raises(domain.DefinitionError) as error:
        compile_definition(broken, templates={"autre"})
    messages = "\n".join(error.value.messages)
    assert "étape « bonjour » : étape inconnue « atente »" in messages
    assert "durée illisible « trois jours »" in messages
    assert "événement inconnu « reply_recieved »" in messages
    assert "modèle « essai.bonjour » introuvable ou non publié" in messages
    assert "étape « orpheline » inaccessible depuis « bonjour »" in messages


def test_bad_offsets_windows_and_segments_are_refused() -> None:
    date_entry = MINIMAL.replace("entry: {type: event, event: link_clicked}",
                                 "entry: {type: date, when: document.expires_on - six months, kinds: [cni]}")
    with pytest.raises(domain.DefinitionError, match="expression de date illisible"):
        compile_definition(date_entry)
    window = MINIMAL.replace("template: essai.bonjour, next: attente",
                             "template: essai.bonjour, window: {days: lun-sam, hours: '19:00-09:00'}, next: attente")
    with pytest.raises(domain.DefinitionError, match="la fenêtre 19:00-09:00 est vide"):
        compile_definition(window)
    segment = MINIMAL.replace("entry: {type: event, event: link_clicked}", "entry: {type: segment, segment: martiens}")
    with pytest.raises(domain.DefinitionError, match="segment inconnu « martiens »"):
        compile_definition(segment, segments={"seniors_isoles"})


def state(spec: dict, node: str, steps: int = 1, inbox: list[str] | None = None, timeout_at=None,
          pending: str = "") -> domain.InstanceState:
    return domain.InstanceState(1, 1, node, "active", steps, pending, [], {}, inbox or [], timeout_at)


NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def never(_expression: str, _context: dict) -> bool:
    return False


def test_a_new_instance_sends_then_waits_with_its_deadline() -> None:
    spec = compile_definition(MINIMAL)
    out = domain.step(spec, state(spec, "bonjour", steps=0), NOW, {}, never)
    assert out.node == "attente" and out.waiting_for == ["reply_received"]
    assert out.next_wake_at == NOW + timedelta(days=3)
    assert [m["template"] for m in out.messages] == ["essai.bonjour"]


def test_an_event_in_the_inbox_is_consumed_and_an_early_wake_keeps_waiting() -> None:
    spec = compile_definition(MINIMAL)
    deadline = NOW + timedelta(days=3)
    early = domain.step(spec, state(spec, "attente", inbox=["link_clicked"], timeout_at=deadline), NOW, {}, never)
    assert early.node == "attente" and early.next_wake_at == deadline and early.inbox == ["link_clicked"]
    replied = domain.step(spec, state(spec, "attente", inbox=["link_clicked", "reply_received"], timeout_at=deadline),
                          NOW, {}, never)
    assert (replied.status, replied.outcome, replied.inbox) == ("completed", "fini", [])
    late = domain.step(spec, state(spec, "attente", timeout_at=deadline), deadline, {}, never)
    assert late.node == "fin" and [m["node"] for m in late.messages] == ["relance"]


def test_goals_are_checked_at_every_wake_up_and_an_opposition_exits() -> None:
    spec = compile_definition(MINIMAL + "goals:\n  - name: répondu\n    when: personne.age > 0\n")
    done = domain.step(spec, state(spec, "attente"), NOW, {}, lambda expression, context: True)
    assert (done.status, done.outcome, done.messages) == ("completed", "répondu", [])
    out = domain.step(spec, state(spec, "attente"), NOW, {}, never, opted_out=True)
    assert (out.status, out.outcome) == ("exited", "opposition")


def test_the_day_before_moves_back_from_a_holiday() -> None:
    node = {"until": ["rendez_vous.date", {"amount": -1, "unit": "days"}]}
    context = {"rendez_vous": {"date": "2026-12-26"}}  # a Saturday; the 25th is Christmas
    working = domain._date_deadline(node, context, NOW, lambda day: day != date(2026, 12, 25))
    assert working is not None and working.date() == date(2026, 12, 24)


def test_entry_window_of_a_date_entry() -> None:
    spec = compile_definition((SHIPPED / "titres-identite.yaml").read_text(encoding="utf-8"))
    earliest, latest = domain.entry_window(spec["entry"], date(2026, 12, 1))
    assert (earliest, latest) == (date(2026, 11, 1), date(2027, 6, 1))


@pytest.mark.django_db
def test_a_segment_entry_starts_its_members_once(fixed_clock) -> None:
    from proactif.journeys import services
    from proactif.messaging import services as messaging
    from proactif.registry import services as registry

    messaging.save_template("essai.bonjour", "email", "Bonjour {{ personne.prenom }}", subject="Essai", publish=True)
    source = MINIMAL.replace("entry: {type: event, event: link_clicked}",
                             "entry: {type: segment, segment: seniors_isoles}")
    services.save_definition(source, author="test", publish=True)
    members = registry.segment_members("seniors_isoles", date(2026, 11, 28))
    assert members
    assert services.enter_due()["essai"] == len(members)
    assert services.enter_due()["essai"] == 0
