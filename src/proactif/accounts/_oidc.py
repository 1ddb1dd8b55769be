"""OpenID Connect login for agents (ProConnect), enabled when PROACTIF_OIDC_ISSUER is set.

Authorization-code flow with PKCE, state and nonce; the ID token is verified against the
provider's JWKS (signature, issuer, audience, expiry, nonce). ProConnect answers the userinfo
endpoint with a signed JWT; plain JSON is accepted too. An identity maps to an existing agent
by e-mail (and from then on by its subject): the provider proves who the agent is, the
collectivité decides what they may do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from django.conf import settings

from proactif.accounts.models import Agent
from proactif.kernel.logging import get_logger

log = get_logger(__name__)

_client: httpx.Client | None = None
_discovery: dict[str, Any] | None = None


class OidcError(Exception):
    pass


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET)


def set_http_client(client: httpx.Client | None) -> None:
    """Inject the HTTP client (tests use httpx.MockTransport)."""
    global _client, _discovery
    _client = client
    _discovery = None


def http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=10.0)
    return _client


def discovery() -> dict[str, Any]:
    global _discovery
    if _discovery is None:
        issuer = str(settings.OIDC_ISSUER).rstrip("/")
        response = http().get(f"{issuer}/.well-known/openid-configuration")
        response.raise_for_status()
        _discovery = response.json()
    return _discovery


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def authorization_request(redirect_uri: str) -> AuthorizationRequest:
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "response_type": "code", "client_id": settings.OIDC_CLIENT_ID, "redirect_uri": redirect_uri,
        "scope": settings.OIDC_SCOPES, "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    }
    if settings.OIDC_ACR_VALUES:
        params["acr_values"] = settings.OIDC_ACR_VALUES
    return AuthorizationRequest(f"{discovery()['authorization_endpoint']}?{urlencode(params)}", state, nonce, verifier)


def _verify_jwt(token: str, *, nonce: str | None = None) -> dict[str, Any]:
    jwks = http().get(discovery()["jwks_uri"]).json()
    header = jwt.get_unverified_header(token)
    keys = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")] or jwks.get("keys", [])
    if not keys:
        raise OidcError("le fournisseur d'identité ne publie aucune clé")
    key = jwt.PyJWK(keys[0])
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key=key, algorithms=[header.get("alg", "RS256")], audience=settings.OIDC_CLIENT_ID,
            issuer=str(settings.OIDC_ISSUER).rstrip("/"), options={"require": ["exp", "iat", "sub"]})
    except jwt.PyJWTError as exc:
        raise OidcError(f"jeton d'identité invalide : {exc}") from exc
    if nonce is not None and claims.get("nonce") != nonce:
        raise OidcError("nonce invalide")
    return claims


@dataclass(frozen=True)
class OidcIdentity:
    subject: str
    email: str
    given_name: str
    usual_name: str
    id_token: str


def complete(code: str, redirect_uri: str, nonce: str, code_verifier: str) -> OidcIdentity:
    response = http().post(discovery()["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "client_id": settings.OIDC_CLIENT_ID, "client_secret": settings.OIDC_CLIENT_SECRET,
        "code_verifier": code_verifier})
    if response.status_code != 200:
        raise OidcError(f"échange du code refusé ({response.status_code})")
    tokens = response.json()
    id_token = tokens.get("id_token")
    if not id_token:
        raise OidcError("réponse sans jeton d'identité")
    claims = _verify_jwt(id_token, nonce=nonce)
    info = http().get(discovery()["userinfo_endpoint"],
                      headers={"Authorization": f"Bearer {tokens.get('access_token', '')}"})
    if info.status_code != 200:
        raise OidcError(f"userinfo refusé ({info.status_code})")
    if info.headers.get("content-type", "").startswith("application/jwt"):
        userinfo = _verify_jwt(info.text)
    else:
        userinfo = json.loads(info.text)
    if userinfo.get("sub") != claims["sub"]:
        raise OidcError("userinfo ne correspond pas au jeton d'identité")
    email = str(userinfo.get("email", "")).strip().lower()
    if not email:
        raise OidcError("le fournisseur n'a pas transmis d'adresse e-mail")
    return OidcIdentity(claims["sub"], email, str(userinfo.get("given_name", "")),
                        str(userinfo.get("usual_name", userinfo.get("family_name", ""))), id_token)


def agent_for(identity: OidcIdentity) -> Agent | None:
    """The agent this identity belongs to: bound by subject, or by e-mail on first use."""
    agent = Agent.objects.filter(oidc_subject=identity.subject).first()
    if agent is None:
        agent = Agent.objects.filter(email=identity.email, oidc_subject__isnull=True).first()
        if agent is None:
            return None
        agent.oidc_subject = identity.subject
        agent.save(update_fields=["oidc_subject"])
    if not agent.is_active:
        return None
    return agent


def logout_url(id_token: str, post_logout_redirect_uri: str) -> str | None:
    endpoint = discovery().get("end_session_endpoint")
    if not endpoint:
        return None
    return f"{endpoint}?" + urlencode({"id_token_hint": id_token, "state": secrets.token_urlsafe(16),
                                       "post_logout_redirect_uri": post_logout_redirect_uri})
