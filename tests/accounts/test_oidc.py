"""OIDC (ProConnect) login against a fake provider that follows the protocol: discovery, JWKS,
token endpoint, userinfo answered as a signed JWT as ProConnect does."""

import json
import time
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from proactif.accounts import _oidc as oidc
from proactif.accounts.models import Agent

pytestmark = pytest.mark.django_db
ISSUER = "https://proconnect.example/api/v2"


class FakeProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}
        self.nonce = ""
        self.subject = "sub-123"
        self.email = "etat_civil@test.proactif.fr"
        self.tamper = False

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
                "userinfo_endpoint": f"{ISSUER}/userinfo", "jwks_uri": f"{ISSUER}/jwks",
                "end_session_endpoint": f"{ISSUER}/session/end"})
        if path.endswith("/jwks"):
            return httpx.Response(200, json=self.jwks)
        if path.endswith("/token"):
            form = parse_qs(request.content.decode())
            assert form["code_verifier"][0] and form["client_secret"] == ["secret"]
            now = int(time.time())
            claims = {"iss": ISSUER, "aud": "client-id", "sub": self.subject, "iat": now, "exp": now + 60,
                      "nonce": "forged" if self.tamper else self.nonce}
            return httpx.Response(200, json={"access_token": "at", "id_token": self.sign(claims)})
        if path.endswith("/userinfo"):
            now = int(time.time())
            body = self.sign({"iss": ISSUER, "aud": "client-id", "sub": self.subject, "iat": now, "exp": now + 60,
                              "email": self.email, "given_name": "Camille", "usual_name": "Martin"})
            return httpx.Response(200, content=body, headers={"content-type": "application/jwt"})
        return httpx.Response(404)


@pytest.fixture
def provider(settings):
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_CLIENT_ID = "client-id"
    settings.OIDC_CLIENT_SECRET = "secret"
    fake = FakeProvider()
    oidc.set_http_client(httpx.Client(transport=httpx.MockTransport(fake.handle)))
    yield fake
    oidc.set_http_client(None)


def start(client: Client, provider: FakeProvider, next_url: str = "") -> str:
    response = client.get("/connexion/oidc/", {"next": next_url} if next_url else {})
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["client-id"]
    provider.nonce = query["nonce"][0]
    return query["state"][0]


def test_an_agent_logs_in_with_proconnect(client: Client, agents: dict, provider: FakeProvider) -> None:
    state = start(client, provider)
    response = client.get("/connexion/oidc/retour/", {"code": "abc", "state": state})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert Agent.objects.get(email=provider.email).oidc_subject == "sub-123"
    logout = client.post("/deconnexion/")
    assert logout["Location"].startswith(f"{ISSUER}/session/end?id_token_hint=")


def test_a_forged_nonce_or_state_is_refused(client: Client, agents: dict, provider: FakeProvider) -> None:
    state = start(client, provider)
    assert client.get("/connexion/oidc/retour/", {"code": "abc", "state": "other"})["Location"] == "/connexion/"
    state = start(client, provider)
    provider.tamper = True
    client.get("/connexion/oidc/retour/", {"code": "abc", "state": state})
    assert client.get("/").status_code == 302  # not logged in


def test_an_identity_without_an_agent_account_is_refused(client: Client, agents: dict,
                                                          provider: FakeProvider) -> None:
    provider.email = "stranger@elsewhere.fr"
    state = start(client, provider)
    client.get("/connexion/oidc/retour/", {"code": "abc", "state": state})
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(("asked", "lands"), [
    ("https://evil.example/phish", "/"), ("//evil.example/", "/"), ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"), ("/habitants/?q=martin", "/habitants/?q=martin")])
def test_the_next_address_after_proconnect_stays_on_this_site(client: Client, agents: dict, provider: FakeProvider,
                                                                asked: str, lands: str) -> None:
    """The probe's case: `next` went unchecked through the OIDC round trip (an open redirect after a genuine
    login); it now gets the login page's check, at the start and again at the return."""
    state = start(client, provider, asked)
    response = client.get("/connexion/oidc/retour/", {"code": "abc", "state": state})
    assert response.status_code == 302 and response["Location"] == lands


def test_a_next_address_planted_in_an_older_session_is_checked_at_the_return(client: Client, agents: dict,
                                                                            provider: FakeProvider) -> None:
    state = start(client, provider)
    session = client.session
    session["oidc"] = {**session["oidc"], "next": "https://evil.example/"}
    session.save()
    assert client.get("/connexion/oidc/retour/", {"code": "abc", "state": state})["Location"] == "/"
