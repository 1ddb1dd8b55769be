from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from proactif.accounts import services as accounts
from proactif.accounts.models import Agent
from proactif.kernel import clock
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def post_login(client: Client, email: str, password: str, ip: str = "10.0.0.1"):
    return client.post(reverse("accounts:login"), {"email": email, "password": password}, REMOTE_ADDR=ip)


def test_passwords_are_hashed_with_argon2(agents: dict) -> None:
    assert agents["etat_civil"].password.startswith("argon2")


def test_login_then_logout(client: Client, agents: dict) -> None:
    response = post_login(client, "etat_civil@test.proactif.fr", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post(reverse("accounts:logout"))
    assert client.get("/").status_code == 302


def test_pages_need_a_session(client: Client) -> None:
    response = client.get("/habitants/?q=martin")
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/?next=")


def test_repeated_wrong_passwords_lock_the_account(client: Client, agents: dict, fixed_clock) -> None:
    for _ in range(5):
        assert post_login(client, "ccas@test.proactif.fr", "wrong-password").status_code == 401
    response = post_login(client, "ccas@test.proactif.fr", PASSWORD)
    assert response.status_code == 401
    assert "verrouillé" in response.content.decode()
    agent = Agent.objects.get(email="ccas@test.proactif.fr")
    assert agent.locked_until == clock.now() + timedelta(minutes=15)
    fixed_clock.advance(timedelta(minutes=16))
    assert post_login(client, "ccas@test.proactif.fr", PASSWORD).status_code == 302


def test_an_administrator_unlocks_an_account(agents: dict, fixed_clock) -> None:
    for _ in range(5):
        accounts.authenticate_agent("ccas@test.proactif.fr", "nope", "10.0.0.2")
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.0.0.2").reason == "locked"
    accounts.unlock_agent(agents["ccas"].pk)
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.0.0.2").ok


def test_one_address_guessing_many_accounts_is_throttled(agents: dict, fixed_clock) -> None:
    for i in range(20):
        accounts.authenticate_agent(f"someone{i}@test.proactif.fr", "guess", "10.9.9.9")
    assert accounts.authenticate_agent("etat_civil@test.proactif.fr", PASSWORD, "10.9.9.9").reason == "throttled"
    assert accounts.authenticate_agent("etat_civil@test.proactif.fr", PASSWORD, "10.1.1.1").ok


def test_unknown_and_wrong_password_answer_the_same(client: Client, agents: dict) -> None:
    unknown = post_login(client, "nobody@test.proactif.fr", "x")
    wrong = post_login(client, "etat_civil@test.proactif.fr", "x")
    assert unknown.status_code == wrong.status_code == 401
    assert "incorrect" in unknown.content.decode() and "incorrect" in wrong.content.decode()


def test_login_form_is_csrf_protected(agents: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    assert post_login(client, "etat_civil@test.proactif.fr", PASSWORD).status_code == 403


def test_security_headers(client: Client) -> None:
    response = client.get(reverse("accounts:login"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self' 'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "X-Request-ID" in response


def test_open_redirects_are_refused(client: Client, agents: dict) -> None:
    response = client.post(reverse("accounts:login") + "?next=https://evil.example/",
                           {"email": "etat_civil@test.proactif.fr", "password": PASSWORD,
                            "next": "https://evil.example/"})
    assert response["Location"] == "/"
