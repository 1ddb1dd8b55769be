from datetime import timedelta

import pytest

from proactif.accounts import services as accounts

pytestmark = pytest.mark.django_db


def test_a_key_authenticates_with_its_service_scopes_and_kind() -> None:
    key, token = accounts.create_api_key("etat_civil", "logiciel état civil", "live", ["registry:read"])
    assert token.startswith("pf_live_")
    secret = token.split("_", 3)[3]  # the secret itself may hold "_" (URL-safe base64)
    assert len(secret) >= 40 and secret not in key.secret_hash  # only a hash is stored
    client = accounts.authenticate_api_key(token)
    assert client is not None
    assert client.kind == "live" and client.scopes == {"registry:read"}
    assert client.actor.service == "etat_civil" and "etat_civil" in client.actor.purposes


def test_wrong_revoked_and_expired_keys_are_refused(fixed_clock) -> None:
    _, token = accounts.create_api_key("ccas", "test", "test", ["registry:read"], expires_in_days=1)
    assert accounts.authenticate_api_key(token[:-2] + "xx") is None
    assert accounts.authenticate_api_key("pf_live_" + token.split("_", 2)[2]) is None  # kind is part of the key
    fixed_clock.advance(timedelta(days=2))
    assert accounts.authenticate_api_key(token) is None
    _, other = accounts.create_api_key("ccas", "test", "test", ["registry:read"])
    accounts.revoke_api_key(accounts.list_api_keys().get(prefix=other.split("_")[2]).pk)
    assert accounts.authenticate_api_key(other) is None


def test_unknown_scopes_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="portée inconnue"):
        accounts.create_api_key("ccas", "x", "live", ["registry:everything"])
    with pytest.raises(ValueError, match="type"):
        accounts.create_api_key("ccas", "x", "sandbox", ["registry:read"])


def test_weak_agent_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="mot de passe refusé"):
        accounts.create_agent("weak@test.proactif.fr", "123456", service="ccas")
