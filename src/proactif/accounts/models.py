from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models

from proactif.accounts.domain import ROLE_LABELS, Role


class Service(models.Model):
    """A service of the collectivité (état civil, CCAS…) and the purposes its agents work for."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    purposes = models.JSONField(default=list)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentManager(BaseUserManager["Agent"]):
    def create_user(self, email: str, password: str | None = None, **fields: object) -> Agent:
        if not email:
            raise ValueError("an agent needs an e-mail address")
        agent = self.model(email=self.normalize_email(email).lower(), **fields)
        agent.set_password(password)
        agent.save(using=self._db)
        return agent

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> Agent:
        fields.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **fields)


class Agent(AbstractBaseUser, PermissionsMixin):
    """An agent of the collectivité. Authenticates by e-mail (password or OIDC). Access to the platform's pages
    comes from the service's purposes and the role (`accounts.domain`); Django's groups and permissions
    (`PermissionsMixin`) serve only the public website's CMS (Wagtail), whose editors' group follows the service
    (`assist`; decision 0009). `is_superuser` stays false: no one bypasses the purposes."""

    email = models.EmailField(unique=True)
    first_name = models.CharField("prénom", max_length=100, blank=True)
    last_name = models.CharField("nom", max_length=100, blank=True)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, related_name="agents")
    role = models.CharField(max_length=20, choices=[(r.value, ROLE_LABELS[r]) for r in Role], default=Role.AGENT)
    is_active = models.BooleanField(default=True)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    oidc_subject = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_at = models.DateTimeField()

    objects = AgentManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["last_name", "first_name"]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.created_at is None:
            from proactif.kernel import clock

            self.created_at = clock.now()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def __str__(self) -> str:
        return self.full_name


class LoginAttempt(models.Model):
    """Every login attempt (for throttling and the security log); kept 30 days."""

    at = models.DateTimeField(db_index=True)
    email = models.CharField(max_length=254, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    success = models.BooleanField()
    reason = models.CharField(max_length=50, blank=True)


class ApiKey(models.Model):
    """A machine client's key, bound to a service, with scopes. Only a hash of the secret is kept."""

    KIND_CHOICES = [("live", "Production"), ("test", "Test")]

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=KIND_CHOICES)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def scope_labels(self) -> list[str]:
        from proactif.kernel import capabilities

        declared = capabilities.scopes()
        return [declared[s].label if s in declared else s for s in self.scopes]
