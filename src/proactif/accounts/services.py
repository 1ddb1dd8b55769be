"""Accounts use cases: services, agents, login with throttling and lockout, API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db.models import F, Q, QuerySet

from proactif.accounts.domain import (
    DEFAULT_SERVICES,
    PURPOSES,
    ROLE_PURPOSES,
    Actor,
    Caller,
    Role,
    scope_refusal,
    session_scopes,
)
from proactif.accounts.models import Agent, ApiKey, LoginAttempt, Service
from proactif.kernel import capabilities, clock, metrics
from proactif.kernel.logging import get_logger

log = get_logger(__name__)
SESSION_PURPOSE = "proactif_purpose"  # the purpose an agent chose for their session (among their service's)


# --- services -------------------------------------------------------------------------------
def ensure_default_services() -> int:
    created = 0
    for spec in DEFAULT_SERVICES:
        _, was_created = Service.objects.get_or_create(
            code=spec.code, defaults={"name": spec.name, "purposes": list(spec.purposes)})
        created += was_created
    return created


def home_accounts(access: Any) -> dict[str, Any]:
    """The administrator's home block: agents active and deactivated, accounts locked now, API keys in use, those
    expiring within 30 days."""
    from proactif.accounts.models import Agent, ApiKey

    now = clock.now()
    keys = ApiKey.objects.filter(revoked_at__isnull=True).exclude(expires_at__lt=now)
    return {"active": Agent.objects.filter(is_active=True).count(),
            "inactive": Agent.objects.filter(is_active=False).count(),
            "locked": Agent.objects.filter(locked_until__gt=now).count(), "keys": keys.count(),
            "expiring": keys.filter(expires_at__lt=now + timedelta(days=30)).count()}


def list_services() -> QuerySet[Service]:
    return Service.objects.all()


def get_service(code: str) -> Service:
    try:
        return Service.objects.get(code=code)
    except Service.DoesNotExist:
        raise ValueError(f"service inconnu : {code}") from None


# --- agents ---------------------------------------------------------------------------------
def new_password() -> str:
    """A random provisional password (4 groups of 5 letters and digits, about 100 bits), easy to dictate."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def create_agent(email: str, password: str | None, *, service: str | None, role: Role | str = Role.AGENT,
                 first_name: str = "", last_name: str = "") -> Agent:
    email = valid_agent_email(email)
    role = Role(role)
    svc = get_service(service) if service else None
    if role in (Role.AGENT, Role.RESPONSABLE) and svc is None:
        raise ValueError("un agent ou un responsable doit appartenir à un service")
    if password is not None:
        check_password_strength(password, email)
    return Agent.objects.create_user(email, password, service=svc, role=role, first_name=first_name,
                                     last_name=last_name)


def valid_agent_email(email: str) -> str:
    """The address, lower-cased, or a ValueError in French: an agent logs in and is reached with it."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    normalised = (email or "").strip().lower()
    try:  # Django's rule, as the forms apply it (internal domains such as mairie.local are accepted)
        validate_email(normalised)
    except ValidationError:
        raise ValueError(f"adresse e-mail invalide « {normalised[:80]} »") from None
    if Agent.objects.filter(email=normalised).exists():
        raise ValueError(f"un compte existe déjà pour {normalised}")
    return normalised


def check_password_strength(password: str, email: str = "") -> None:
    """The password rules of settings.AUTH_PASSWORD_VALIDATORS, as a ValueError in French."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, Agent(email=email))
    except ValidationError as exc:
        raise ValueError("mot de passe refusé : " + " ".join(exc.messages)) from None


def set_agent_password(agent: Agent, password: str) -> None:
    check_password_strength(password, agent.email)
    agent.set_password(password)
    agent.failed_logins = 0
    agent.locked_until = None
    agent.save(update_fields=["password", "failed_logins", "locked_until"])


def list_agents() -> QuerySet[Agent]:
    return Agent.objects.select_related("service")


def get_agent(agent_id: int) -> Agent:
    return Agent.objects.select_related("service").get(pk=agent_id)


def find_agent_by_email(email: str) -> Agent | None:
    return Agent.objects.select_related("service").filter(email=email.strip().lower()).first()


def actor_for_agent(agent: Agent) -> Actor:
    purposes: set[str] = set(agent.service.purposes) if agent.service else set()
    if agent.role in ROLE_PURPOSES:  # the DPO's exercise of GDPR rights, the administrator's upkeep of the registry
        purposes.add(ROLE_PURPOSES[Role(agent.role)])
    return Actor(kind="agent", id=agent.pk, label=agent.email, service=agent.service.code if agent.service else None,
                 role=Role(agent.role), purposes=frozenset(p for p in purposes if p in PURPOSES))


def set_agent_active(agent_id: int, active: bool, by: Agent) -> Agent:
    """Deactivate an account (its sessions end at their next request: the session backend only restores active
    agents) or reactivate it. An administrator does not deactivate their own account."""
    agent = get_agent(agent_id)
    if not active and agent.pk == by.pk:
        raise ValueError("vous ne pouvez pas désactiver votre propre compte")
    agent.is_active = active
    agent.save(update_fields=["is_active"])
    log.info("agent account " + ("reactivated" if active else "deactivated"), agent_id=agent.pk)
    return agent


RESET_HOURS = 24


def reset_link(agent: Agent, base_url: str) -> str:
    """A link to choose a new password, valid RESET_HOURS and until the password changes (Django's token: it
    hashes the password and the last login, so it works once)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(agent.pk))
    return f"{base_url.rstrip('/')}/connexion/nouveau-mot-de-passe/{uid}/{default_token_generator.make_token(agent)}/"


def send_reset_link(agent_id: int, base_url: str) -> Agent:
    """E-mail an agent a link to choose a new password (SMTP_HOST, the built-in sink in a demo). Sent at once,
    not through the residents' outbox: the agent is waiting for it."""
    import smtplib
    from email.message import EmailMessage

    from django.conf import settings

    agent = get_agent(agent_id)
    if not agent.is_active:
        raise ValueError("ce compte est désactivé : réactivez-le avant d'envoyer un lien")
    message = EmailMessage()
    message["From"], message["To"] = settings.EMAIL_FROM, agent.email
    message["Subject"] = "Proactif : choisissez votre mot de passe"
    message.set_content(
        f"Bonjour {agent.first_name},\n\nPour choisir un nouveau mot de passe, ouvrez ce lien dans les "
        f"{RESET_HOURS} heures : {reset_link(agent, base_url)}\n\nIl ne sert qu’une fois. Si vous n’êtes pas à "
        "l’origine de cette demande, prévenez l’administrateur de Proactif.\n")
    with smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=10) as smtp:
        if settings.SMTP_STARTTLS:
            smtp.starttls()
        if settings.SMTP_USER:
            smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD or "")
        smtp.send_message(message)
    log.info("password reset link sent", agent_id=agent.pk)
    return agent


def agent_from_reset(uidb64: str, token: str) -> Agent | None:
    """The agent a reset link names, if the link is genuine, not used and not expired."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.http import urlsafe_base64_decode

    try:
        agent_id = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    agent = Agent.objects.filter(pk=agent_id, is_active=True).first()
    return agent if agent and default_token_generator.check_token(agent, token) else None


def unlock_agent(agent_id: int) -> int:
    """Returns 1 when the agent exists, 0 otherwise."""
    return Agent.objects.filter(pk=agent_id).update(failed_logins=0, locked_until=None)


def update_agent(agent_id: int, *, service: str | None, role: str, is_active: bool) -> Agent:
    agent = get_agent(agent_id)
    agent.service = get_service(service) if service else None
    agent.role = Role(role)
    agent.is_active = is_active
    agent.save(update_fields=["service", "role", "is_active"])
    return agent


# --- login ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginResult:
    agent: Agent | None
    reason: str  # ok | bad_credentials | locked | throttled | inactive
    locked_until_local: str | None = None

    @property
    def ok(self) -> bool:
        return self.agent is not None


_DUMMY_HASH: str | None = None


def _spend_hash_time(password: str) -> None:
    """Hash anyway for unknown accounts so that timing does not reveal which e-mails exist."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = make_password("proactif-timing-equaliser")
    from django.contrib.auth.hashers import check_password

    check_password(password, _DUMMY_HASH)


def _record_attempt(email: str, ip: str | None, success: bool, reason: str) -> None:
    LoginAttempt.objects.create(at=clock.now(), email=email[:254], ip=ip, success=success, reason=reason)
    if not success:
        metrics.LOGIN_FAILURES.inc()


def authenticate_agent(email: str, password: str, ip: str | None) -> LoginResult:
    """Check an agent's password, with throttling per address and a lockout per account.

    Each password check first claims one of the account's `LOGIN_MAX_FAILURES` attempts in a single conditional
    UPDATE (refused when the account is locked or every attempt is taken), so parallel requests cannot check more
    passwords than the limit: the claims are counted before any password is, and the database serialises them.
    A wrong password keeps its claim; the one using the last attempt locks the account; a right one frees them.
    """
    now = clock.now()
    email = (email or "").strip().lower()
    window = timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    if ip and LoginAttempt.objects.filter(ip=ip, success=False, at__gte=now - window).count() \
            >= settings.LOGIN_IP_MAX_FAILURES:
        _record_attempt(email, ip, False, "throttled")
        log.warning("login throttled for ip")
        return LoginResult(None, "throttled")
    agent = Agent.objects.filter(email=email).first()
    if agent is None:
        _spend_hash_time(password)
        _record_attempt(email, ip, False, "unknown")
        return LoginResult(None, "bad_credentials")
    if not _claim_attempt(agent.pk, now):
        _spend_hash_time(password)  # a locked account answers in the same time as any other
        _record_attempt(email, ip, False, "locked")
        _lock_when_spent(agent.pk, now + window, now)  # every attempt taken (some may still be checking): lock
        agent.refresh_from_db(fields=["locked_until"])
        return LoginResult(None, "locked", _local_time(agent.locked_until))
    if not agent.check_password(password):
        _record_attempt(email, ip, False, "bad_password")
        if _lock_when_spent(agent.pk, now + window, now):
            return LoginResult(None, "locked", _local_time(now + window))
        return LoginResult(None, "bad_credentials")
    if not agent.is_active:
        _record_attempt(email, ip, False, "inactive")
        return LoginResult(None, "inactive")
    Agent.objects.filter(pk=agent.pk).update(failed_logins=0, locked_until=None, last_login=now)
    _record_attempt(email, ip, True, "ok")
    return LoginResult(agent, "ok")


def _open(now: Any) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lte=now)


def _claim_attempt(agent_id: int, now: Any) -> bool:
    """Take one of the account's attempts: false when it is locked or all of them are taken (one UPDATE)."""
    return bool(Agent.objects.filter(pk=agent_id, failed_logins__lt=settings.LOGIN_MAX_FAILURES).filter(
        _open(now)).update(failed_logins=F("failed_logins") + 1))


def _lock_when_spent(agent_id: int, until: Any, now: Any) -> bool:
    """Lock the account when all its attempts are taken, and give them back for after the lock (one UPDATE:
    of parallel failures, one locks)."""
    locked = Agent.objects.filter(pk=agent_id, failed_logins__gte=settings.LOGIN_MAX_FAILURES).filter(
        _open(now)).update(locked_until=until, failed_logins=0)
    if locked:
        log.warning("agent account locked", agent_id=agent_id)
    return bool(locked)


def _local_time(moment: Any) -> str | None:
    return moment.astimezone(clock.local_tz()).strftime("%H:%M") if moment else None


def purge_login_attempts(older_than_days: int = 30) -> int:
    deleted, _ = LoginAttempt.objects.filter(at__lt=clock.now() - timedelta(days=older_than_days)).delete()
    return deleted


# --- API keys -------------------------------------------------------------------------------
TOKEN_PREFIX = "pf"  # noqa: S105 - the public prefix of API tokens, not a secret


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(service: str, name: str, kind: str, scopes: list[str],
                   created_by: Agent | None = None, expires_in_days: int | None = None) -> tuple[ApiKey, str]:
    """Create a key and return it with its token, which is shown once and never stored."""
    if kind not in ("live", "test"):
        raise ValueError("le type de clé est « live » ou « test »")
    if not scopes:
        raise ValueError("une clé a au moins une portée")
    owner = get_service(service)
    declared = capabilities.scopes()
    for code in sorted(set(scopes)):
        refusal = scope_refusal(declared.get(code), code, owner.code, owner.purposes)
        if refusal:
            raise ValueError(refusal)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    key = ApiKey.objects.create(
        service=owner, name=name.strip() or "clé", kind=kind, prefix=prefix,
        secret_hash=_hash_secret(secret), scopes=sorted(set(scopes)), created_by=created_by, created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    return key, f"{TOKEN_PREFIX}_{kind}_{prefix}_{secret}"


def scope_labels() -> dict[str, str]:
    """Every declared API scope and what it allows (for the key form)."""
    return {code: scope.label for code, scope in sorted(capabilities.scopes().items())}


def scopes_for_service(service: str) -> list[str]:
    """The scopes a key of `service` may hold: those serving one of the service's purposes."""
    owner = get_service(service)
    return [code for code, scope in sorted(capabilities.scopes().items())
            if scope_refusal(scope, code, owner.code, owner.purposes) is None]


def session_caller(agent: Agent) -> Caller:
    """An agent using the API from the interface: the scopes serving the agent's purposes."""
    actor = actor_for_agent(agent)
    return Caller(actor, session_scopes(actor, capabilities.scopes().values()), "session")


def test_key_ids() -> list[int]:
    return list(ApiKey.objects.filter(kind="test").values_list("id", flat=True))


def authenticate_api_key(token: str) -> Caller | None:
    parts = (token or "").split("_", 3)
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX or parts[1] not in ("live", "test"):
        return None
    _, kind, prefix, secret = parts
    key = ApiKey.objects.select_related("service").filter(prefix=prefix, kind=kind).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        return None
    now = clock.now()
    if key.revoked_at or (key.expires_at and key.expires_at <= now):
        return None
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    actor = Actor(kind="api_key", id=key.pk, label=f"clé API {key.prefix} ({key.kind}) — {key.name}",
                  service=key.service.code, role=Role.AGENT,
                  purposes=frozenset(p for p in key.service.purposes if p in PURPOSES))
    # Checked again at each call: a scope the service no longer serves (its purposes changed) is not held.
    declared = capabilities.scopes()
    held = frozenset(code for code in key.scopes
                     if scope_refusal(declared.get(code), code, key.service.code, key.service.purposes) is None)
    return Caller(actor, held, key.kind, key.pk)


def revoke_api_key(key_id: int) -> int:
    """Returns 1 when a live key was revoked, 0 when there was none."""
    return ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=clock.now())


def list_api_keys() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("service", "created_by")


def summary() -> dict[str, Any]:
    return {"services": Service.objects.count(), "agents": Agent.objects.count(),
            "api_keys": ApiKey.objects.filter(revoked_at__isnull=True).count()}
