"""The administrator deactivates and reactivates an account, and sends an agent a one-time link to choose a new
password; the link works once, within 24 hours, and a deactivated agent's session ends."""

import re

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.accounts.models import Agent
from tests.conftest import PASSWORD
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db


def test_a_reset_link_lets_an_agent_choose_a_new_password_once(client: Client, agents: dict, sinks) -> None:
    from proactif.messaging.models import SinkMessage

    target = Agent.objects.get(email="ccas@test.proactif.fr")
    admin = logged_in(Client(), "admin")
    answer = admin.post(f"/administration/agents/{target.pk}/reinitialiser/", follow=True)
    assert "Un lien pour choisir un nouveau mot de passe a été envoyé à ccas@test.proactif.fr" in \
        answer.content.decode()
    sinks.pump()
    received = SinkMessage.objects.get(recipient="ccas@test.proactif.fr", channel="email")
    link = re.search(r"https?://\S+/connexion/nouveau-mot-de-passe/\S+/", received.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{path}")
    assert page.status_code == 200 and "ccas@test.proactif.fr" in page.content.decode()
    refused = client.post(f"/{path}", {"password": "court", "password2": "court"})
    assert refused.status_code == 400 and "Mot de passe refusé" in refused.content.decode()
    mismatch = client.post(f"/{path}", {"password": "Une-phrase-assez-longue-2026", "password2": "autre"})
    assert mismatch.status_code == 400 and "pas identiques" in mismatch.content.decode()
    chosen = "Une-phrase-assez-longue-2026"
    done = client.post(f"/{path}", {"password": chosen, "password2": chosen})
    assert done.status_code == 302 and done["Location"].endswith("/connexion/")
    assert accounts.authenticate_agent("ccas@test.proactif.fr", "Une-phrase-assez-longue-2026", "127.0.0.1").ok
    again = client.get(f"/{path}")
    assert again.status_code == 400 and "plus valable" in again.content.decode()  # used once
    forged = client.get("/connexion/nouveau-mot-de-passe/MQ/abc-def/")
    assert forged.status_code == 400
    target.set_password(PASSWORD)
    target.save()


def test_the_administrator_deactivates_an_account_and_its_session_ends(agents: dict) -> None:
    target = Agent.objects.get(email="police@test.proactif.fr")
    session = logged_in(Client(), "police")
    assert session.get("/alertes/").status_code == 200
    admin = logged_in(Client(), "admin")
    page = admin.get("/administration/agents/").content.decode()
    assert "Désactiver le compte police@test.proactif.fr ?" in page  # asks first
    admin.post(f"/administration/agents/{target.pk}/activation/", {"actif": "0"})
    assert not Agent.objects.get(pk=target.pk).is_active
    assert session.get("/alertes/").status_code == 302  # back to the login page
    own = Agent.objects.get(email="admin@test.proactif.fr")
    answer = admin.post(f"/administration/agents/{own.pk}/activation/", {"actif": "0"}, follow=True)
    assert "Vous ne pouvez pas désactiver votre propre compte" in answer.content.decode()
    admin.post(f"/administration/agents/{target.pk}/activation/", {"actif": "1"})
    assert Agent.objects.get(pk=target.pk).is_active
