"""The home page of each role: the blocks capabilities declare, shown to whoever the page they lead to lets in —
the day's tasks and appointments, the incidents awaiting approval, the detections to review, the DPO's watch,
the administrator's accounts — with charts that carry their data table; counts only, no resident named, so
opening the home page writes nothing to the access log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from proactif.accounts.domain import system_actor
from proactif.alerts import services as alerts
from proactif.alerts.models import Incident
from proactif.audit.models import AccessLog
from proactif.kernel import capabilities, clock
from proactif.messaging.models import OutboxMessage
from proactif.registry.models import Person, Quartier
from tests.conftest import fr

pytestmark = pytest.mark.django_db

BLOCKS = {"Tâches de mon service", "Rendez-vous du jour", "Incidents et alertes", "Droits à examiner",
          "Distribution des messages", "Boîte de test", "Journal des accès", "Comptes et clés",
          "Veille canicule et grand froid"}
EXPECTED = {  # with the built-in sinks on (the demo, the tests): the inbox for the sending services and the admin
    "etat_civil": {"Tâches de mon service", "Rendez-vous du jour", "Distribution des messages", "Boîte de test"},
    "ccas": {"Tâches de mon service", "Droits à examiner", "Distribution des messages", "Boîte de test"},
    # the register's block only while acting for prévention santé (the CCAS agent's default is action sociale)
    "sante": {"Tâches de mon service", "Veille canicule et grand froid", "Distribution des messages", "Boîte de test"},
    "police": {"Tâches de mon service", "Incidents et alertes", "Distribution des messages", "Boîte de test"},
    "dpo": {"Journal des accès", "Distribution des messages"},
    "admin": {"Comptes et clés", "Boîte de test"},
}


def headings(html: str) -> set[str]:
    return set(re.findall(r'<h3 class="fr-h5" id="bloc-\d+"><a href="[^"]+">([^<]+)</a></h3>', html))


def home(agents: dict, who: str) -> str:
    client = Client()
    client.force_login(agents[who])
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_every_block_leads_to_a_declared_page() -> None:
    assert {block.title for block, _ in capabilities.home_blocks()} == BLOCKS


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_the_blocks_of_the_pages_it_may_open_and_no_one_is_named(agents, who) -> None:
    before = AccessLog.objects.count()
    html = home(agents, who)
    assert headings(html) == EXPECTED[who]
    assert AccessLog.objects.count() == before  # counts only: nothing read about anyone


def test_the_police_sees_the_incident_awaiting_approval_and_who_asked(agents, settings) -> None:
    settings.ALERT_APPROVAL_THRESHOLD = 1
    quartier = Quartier.objects.first()
    incident = alerts.create(system_actor("police-1"), alerts.Draft(
        "coupure_eau", "Coupure d'eau rue Lecourbe", [], [], [quartier.pk], []))
    result = alerts.send(system_actor("police-1"), incident.pk, "alerte", {"fr": "Coupure d'eau."})
    assert result.get("approval_required") or Incident.objects.get(pk=incident.pk).status == "a_valider"
    html = home(agents, "police")
    assert "1 incident attend une validation" in html and fr("Coupure d&#x27;eau rue Lecourbe") in html
    assert fr("Coupure d&#x27;eau,") in html  # the type spelt out, not coupure_eau
    assert "coupure_eau" not in html


def test_the_deliveries_chart_has_its_data_table_and_counts_the_service_own_messages(agents) -> None:
    now = clock.now()
    people = list(Person.objects.filter(status="active").values_list("id", flat=True)[:5])
    OutboxMessage.objects.bulk_create([OutboxMessage(
        idempotency_key=f"home-{i}", person_id=pk, service="etat_civil" if i < 4 else "ccas", purpose="information",
        channel="sms" if i % 2 else "email", status="sent", not_before=now, created_at=now,
        sent_at=now - timedelta(days=i % 2), updated_at=now) for i, pk in enumerate(people)])
    html = home(agents, "etat_civil")
    assert 'data-chart="envois-par-canal-donnees"' in html and 'role="img"' in html
    table = html[html.index("Messages envoyés par canal, 14 derniers jours (messages)"):]
    table = table[:table.index("</table>")]
    cells = re.findall(r"<td>(\d+)</td>", table)
    assert sum(int(c) for c in cells) == 4  # état civil's four, not the CCAS's fifth
    assert "<th scope=\"col\">SMS</th>" in table and "<th scope=\"col\">e-mail</th>" in table


def test_without_the_built_in_sinks_there_is_no_inbox_block(agents, settings) -> None:
    settings.SINKS = False
    assert "Boîte de test" not in headings(home(agents, "admin"))
