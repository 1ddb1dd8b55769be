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
    assert response.status_code == 401  # the right password, refused while the account is locked
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


def error_shown(response) -> str:
    return response.content.decode().split('role="alert"><p>')[1].split("</p>")[0]


def test_the_login_answer_does_not_tell_the_state_of_an_account(client: Client, agents: dict, fixed_clock) -> None:
    """Unknown, locked and deactivated accounts answer like a wrong password (same status, same text), even
    with the right password: the page tells nobody which e-mails have an account nor what state it is in."""
    Agent.objects.filter(email="sante@test.proactif.fr").update(is_active=False)
    for _ in range(5):
        post_login(client, "ccas@test.proactif.fr", "wrong-password", ip="10.0.0.3")
    answers = {
        "wrong password": post_login(client, "etat_civil@test.proactif.fr", "wrong-password"),
        "unknown": post_login(client, "nobody@test.proactif.fr", PASSWORD),
        "locked": post_login(client, "ccas@test.proactif.fr", PASSWORD),
        "deactivated": post_login(client, "sante@test.proactif.fr", PASSWORD),
    }
    assert {what: r.status_code for what, r in answers.items()} == dict.fromkeys(answers, 401)
    texts = {error_shown(r) for r in answers.values()}
    assert len(texts) == 1, texts
    assert "verrouillé" not in "".join(texts).split("Après")[0]  # the lockout rule is said, not the state
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.0.0.4").reason == "locked"


def test_parallel_wrong_passwords_check_no_more_passwords_than_the_limit(agents: dict, fixed_clock,
                                                                        monkeypatch) -> None:
    """12 requests arriving together, the last one with the right password (the probe's race, made
    deterministic): each attempt starts while the ones before it are still checking their password, the
    slowest step (argon2). Before the fix every request passed the lock check first, so all 12 passwords
    were checked and the 12th logged in; now each check first claims one of the 5 attempts in one UPDATE."""
    real_check = Agent.check_password
    pending = [f"wrong-{i}" for i in range(10)] + [PASSWORD]
    checked: list[str] = []
    results: list[accounts.LoginResult] = []

    def arrive(password: str) -> None:
        results.append(accounts.authenticate_agent("ccas@test.proactif.fr", password, f"10.2.0.{len(results)}"))

    def slow_check(agent: Agent, password: str) -> bool:
        while pending:  # the next requests arrive while this one is hashing
            arrive(pending.pop(0))
        checked.append(password)
        return real_check(agent, password)

    monkeypatch.setattr(Agent, "check_password", slow_check)
    arrive("wrong-first")
    assert len(results) == 12
    assert len(checked) == 5  # settings.LOGIN_MAX_FAILURES, however many arrive together
    assert not any(r.ok for r in results), "the right password got through past the limit"
    agent = Agent.objects.get(email="ccas@test.proactif.fr")
    assert agent.locked_until == clock.now() + timedelta(minutes=15)
    monkeypatch.setattr(Agent, "check_password", real_check)
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.3.0.1").reason == "locked"
    fixed_clock.advance(timedelta(minutes=16))
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.3.0.1").ok  # the lock ends


def test_a_claim_left_by_a_crashed_request_turns_into_a_timed_lock(agents: dict, fixed_clock) -> None:
    """Every attempt taken but no lock (a worker died between its claim and its answer): the next attempt
    locks the account for the usual time instead of leaving it closed for good."""
    Agent.objects.filter(email="ccas@test.proactif.fr").update(failed_logins=5, locked_until=None)
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.4.0.1").reason == "locked"
    fixed_clock.advance(timedelta(minutes=16))
    assert accounts.authenticate_agent("ccas@test.proactif.fr", PASSWORD, "10.4.0.1").ok


@pytest.mark.parametrize("email", ["jean.dupont@", "pas une adresse", "a@b", "<script>@x.fr", ""])
def test_an_invalid_agent_email_is_refused(agents: dict, email: str) -> None:
    with pytest.raises(ValueError, match="adresse e-mail invalide"):
        accounts.create_agent(email, PASSWORD, service="ccas")
    with pytest.raises(ValueError, match="existe déjà"):
        accounts.create_agent("CCAS@test.proactif.fr ", PASSWORD, service="ccas")


def test_the_cli_refuses_an_invalid_agent_email(agents: dict) -> None:
    from click.testing import CliRunner

    from proactif.cli import main

    result = CliRunner().invoke(main, ["agent", "create", "jean.dupont@", "--service", "ccas"])
    assert result.exit_code != 0 and "adresse e-mail invalide" in result.output
    assert "Traceback" not in result.output and not Agent.objects.filter(email="jean.dupont@").exists()


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
