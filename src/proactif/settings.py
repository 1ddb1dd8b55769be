"""Django settings: the composition root. Everything configurable comes from the environment
(`kernel.config` records each variable so the README can be checked against it)."""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from proactif.kernel.clock import time_zone
from proactif.kernel.config import env_bool, env_int, env_list, env_opt, env_str, home_dir, project_root

HOME = home_dir()
ROOT = project_root()


def _secret_key() -> str:
    configured = env_opt("PROACTIF_SECRET_KEY", "Django secret key. Required in production; when unset a "
                         "random key is generated once and kept in $PROACTIF_HOME/secret_key (0600).")
    if configured:
        return configured
    path = HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("PROACTIF_DEBUG", False, "Django debug mode (never in production).")
ALLOWED_HOSTS = env_list("PROACTIF_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver",
                         "Comma-separated host names the web server answers to.")
CSRF_TRUSTED_ORIGINS = env_list("PROACTIF_CSRF_TRUSTED_ORIGINS", "",
                                "Comma-separated origins (https://mairie.example.fr) trusted for CSRF "
                                "behind a reverse proxy.")
HTTPS = env_bool("PROACTIF_HTTPS", False, "Set when served over HTTPS: secure cookies, HSTS, "
                 "X-Forwarded-Proto trusted from the reverse proxy.")
TRUSTED_PROXIES = env_int("PROACTIF_TRUSTED_PROXIES", 0, "Reverse proxies in front of the web server that append "
                          "the client's address to X-Forwarded-For: the client is the N-th address from the right "
                          "(0: the connection's address, the header is ignored).")
if TRUSTED_PROXIES < 0:
    raise ValueError("PROACTIF_TRUSTED_PROXIES must be 0 or more")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # the CMS's own admin search index (wagtail.search) on PostgreSQL
    "ninja",
    # The CMS of the public website (assist): Wagtail and what its admin needs
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail.sites",
    "wagtail",
    "modelcluster",
    "taggit",
    "proactif.kernel",
    "proactif.accounts",
    "proactif.audit",
    "proactif.registry",
    "proactif.synth",
    "proactif.messaging",
    "proactif.journeys",
    "proactif.connectors",
    "proactif.deadlines",
    "proactif.rights",
    "proactif.alerts",
    "proactif.watch",
    "proactif.assist",
    "proactif.web",
    "proactif.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "proactif.kernel.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "proactif.web._typography.TypographyMiddleware",  # French typography on every HTML page
    "proactif.web._access.AccessMiddleware",
]

ROOT_URLCONF = "proactif.urls"
WSGI_APPLICATION = "proactif.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "proactif.web.context_processors.identity",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DEFAULT_SQLITE = HOME / "proactif.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE}",
                       "Database: sqlite:///path/to/file.sqlite3 (default ./var/proactif.sqlite3) or "
                       "postgres://user:password@host:5432/name.")
_db = dj_database_url.parse(DATABASE_URL)


def _private_sqlite_file(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives its -wal and -shm files the same mode);
    narrow an existing one that others can read. It holds the whole registry."""
    import os
    import stat

    if str(path) in ("", ":memory:") or str(path).startswith("file:"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # an empty file is an empty database
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077 and path.stat().st_uid == os.getuid():
            path.chmod(mode & 0o700)


if _db["ENGINE"] == "django.db.backends.sqlite3":
    _private_sqlite_file(Path(_db["NAME"]))
    _db["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-200000; PRAGMA mmap_size=1073741824;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _db["TEST"] = {"NAME": str(HOME / "test.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = env_int("PROACTIF_DB_CONN_MAX_AGE", 60,
                                  "Seconds a PostgreSQL connection is kept open between requests.")
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts and security ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.Agent"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["proactif.accounts._backends.AgentBackend"]
PASSWORD_RESET_TIMEOUT = 24 * 3600  # an agent's link to choose a new password (accounts.services.RESET_HOURS)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LOGIN_MAX_FAILURES = env_int("PROACTIF_LOGIN_MAX_FAILURES", 5,
                             "Wrong passwords in a row before an agent account is locked.")
LOGIN_LOCKOUT_MINUTES = env_int("PROACTIF_LOGIN_LOCKOUT_MINUTES", 15,
                                "Minutes an agent account stays locked after too many failures.")
LOGIN_IP_MAX_FAILURES = env_int("PROACTIF_LOGIN_IP_MAX_FAILURES", 20,
                                "Failed logins from one IP address within the lockout window before "
                                "that address is throttled.")

OIDC_ISSUER = env_opt("PROACTIF_OIDC_ISSUER", "OpenID Connect issuer for agent login (ProConnect: "
                      "https://auth.agentconnect.gouv.fr/api/v2). Unset disables OIDC login.")
OIDC_CLIENT_ID = env_opt("PROACTIF_OIDC_CLIENT_ID", "OIDC client id.")
OIDC_CLIENT_SECRET = env_opt("PROACTIF_OIDC_CLIENT_SECRET", "OIDC client secret.")
OIDC_SCOPES = env_str("PROACTIF_OIDC_SCOPES", "openid email given_name usual_name uid siret",
                      "OIDC scopes requested.")
OIDC_ACR_VALUES = env_opt("PROACTIF_OIDC_ACR_VALUES", "OIDC acr_values to request (for example eidas1).")
OIDC_LABEL = env_str("PROACTIF_OIDC_LABEL", "ProConnect", "Name of the identity provider on the login page.")

SESSION_COOKIE_AGE = env_int("PROACTIF_SESSION_HOURS", 8, "Hours an agent session lasts.") * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    # DSFR and Leaflet set element styles from JavaScript; no inline <style> blocks are served.
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],  # blob: the local basemap tiles the PMTiles reader decodes
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- identity of the collectivité -----------------------------------------------------------
COLLECTIVITE_NAME = env_str("PROACTIF_COLLECTIVITE_NAME", "Ville de Belleroche",
                            "Name of the collectivité shown in the header, messages and letters.")
COLLECTIVITE_TAGLINE = env_str("PROACTIF_COLLECTIVITE_TAGLINE", "Services aux habitants",
                               "Line under the collectivité's name in the header.")
COLLECTIVITE_PHONE = env_str("PROACTIF_COLLECTIVITE_PHONE", "01 99 00 12 34",
                             "Telephone number given to citizens in messages, letters and the portal.")
COLLECTIVITE_LOGO = env_opt("PROACTIF_COLLECTIVITE_LOGO", "Path of the collectivité's logo (PNG or SVG) "
                            "served at /static/identity/logo; unset shows the name only.")
COLLECTIVITE_ADDRESS = env_str("PROACTIF_COLLECTIVITE_ADDRESS",
                               "Hôtel de ville, 1 place de la Mairie, 99999 Belleroche",
                               "Postal address of the collectivité (legal notice, personal-data page).")
PUBLICATION_DIRECTOR = env_str("PROACTIF_PUBLICATION_DIRECTOR", "le maire de Belleroche",
                               "Director of publication named in the legal notice.")
DPO_CONTACT = env_str("PROACTIF_DPO_CONTACT", "dpo@belleroche.example",
                      "How residents reach the data protection officer (e-mail or postal address).")
HOSTING = env_str("PROACTIF_HOSTING", "les serveurs de la collectivité (hébergement interne)",
                  "Who hosts the service, as the legal notice must say (name and address of the host).")
PRIMARY_COLOR = env_str("PROACTIF_PRIMARY_COLOR", "#1f5f7a",
                        "Main colour of the interface (buttons, links); must keep 4.5:1 contrast on white.")
STATE_IDENTITY = env_bool("PROACTIF_STATE_IDENTITY", False,
                          "Use the French State identity (Marianne font and logo): only for State services.")

# --- runtime --------------------------------------------------------------------------------
BROKER_URL = env_opt("PROACTIF_BROKER_URL", "Celery broker (amqp://guest:guest@127.0.0.1:5672//). "
                     "Unset runs tasks in-process with the embedded executor.")
QUEUE_PREFIX = env_str("PROACTIF_QUEUE_PREFIX", "", "Prefix of the Celery queue names (several "
                       "installations sharing one RabbitMQ).")
EXECUTOR_THREADS = env_int("PROACTIF_EXECUTOR_THREADS", 4, "Threads of the embedded executor.")
SIMULATED_CLOCK = env_bool("PROACTIF_SIMULATED_CLOCK", True,
                           "Honour the clock offset set by `proactif simulate` (false pins real time).")

METRICS_TOKEN = env_opt("PROACTIF_METRICS_TOKEN", "When set, /metrics answers only requests bearing "
                        "`Authorization: Bearer <token>`.")

# --- messaging ------------------------------------------------------------------------------
PUBLIC_URL = env_str("PROACTIF_PUBLIC_URL", "http://127.0.0.1:8000",
                     "Public address of the site, for the links sent to citizens.")
EMAIL_FROM = env_str("PROACTIF_EMAIL_FROM", "Ville de Belleroche <ne-pas-repondre@belleroche.example>",
                     "Sender of the e-mails sent to citizens.")
# The sinks' ports first: the default SMTP server and SMS providers are the sinks, wherever they listen.
SINK_SMTP_PORT = env_int("PROACTIF_SINK_SMTP_PORT", 8025, "Port of the built-in SMTP sink.")
SINK_HTTP_PORT = env_int("PROACTIF_SINK_HTTP_PORT", 8026, "Port of the built-in SMS and push sink.")
SMTP_HOST = env_str("PROACTIF_SMTP_HOST", "127.0.0.1", "SMTP server for e-mails (the local sink by default).")
SMTP_PORT = env_int("PROACTIF_SMTP_PORT", SINK_SMTP_PORT, "SMTP port (default: the built-in SMTP sink's).")
SMTP_USER = env_opt("PROACTIF_SMTP_USER", "SMTP login, when the server asks for one.")
SMTP_PASSWORD = env_opt("PROACTIF_SMTP_PASSWORD", "SMTP password.")
SMTP_STARTTLS = env_bool("PROACTIF_SMTP_STARTTLS", False, "Use STARTTLS with the SMTP server.")
DKIM_PRIVATE_KEY = env_opt("PROACTIF_DKIM_PRIVATE_KEY", "RSA private key signing e-mails with DKIM: the PEM itself "
                           "or the path of a PEM file (unset: e-mails are not signed).")
DKIM_SELECTOR = env_opt("PROACTIF_DKIM_SELECTOR", "DKIM selector (public key at <selector>._domainkey.<domain>).")
DKIM_DOMAIN = env_opt("PROACTIF_DKIM_DOMAIN", "DKIM signing domain (the domain of PROACTIF_EMAIL_FROM).")
EMAIL_FEEDBACK_SECRETS = env_str("PROACTIF_EMAIL_FEEDBACK_SECRETS", "{}", "JSON object: e-mail provider → secret "
                                 "signing its bounce and complaint reports (POST /api/v1/messaging/email-feedback/"
                                 "{provider}).")
SMS_SENDER = env_str("PROACTIF_SMS_SENDER", "BELLEROCHE", "Alphanumeric SMS sender (11 characters at most).")
SMS_PROVIDERS = env_str(
    "PROACTIF_SMS_PROVIDERS",
    f'[{{"name": "sms-a", "format": "json", "url": "http://127.0.0.1:{SINK_HTTP_PORT}/sms/json", "weight": 70, '
    '"token": "sink-a", "secret": "receipt-secret-a"}, {"name": "sms-b", "format": "form", '
    f'"url": "http://127.0.0.1:{SINK_HTTP_PORT}/sms/form", "weight": 30, "token": "sink-b", '
    '"secret": "receipt-secret-b"}]',
    "JSON list of SMS providers: name, format (json | form), url, weight, token, secret (signs its "
    "delivery receipts). The default points at the local sink.")
SMS_TIMEOUT_MS = env_int("PROACTIF_SMS_TIMEOUT_MS", 5000, "Milliseconds to wait for an SMS provider's answer before "
                         "the attempt counts as a technical failure (retried on the next provider).")
# --- connectors to other administrations -------------------------------------------------------------
SANDBOX_PORT = env_int("PROACTIF_SANDBOX_PORT", 8030, "Port of `proactif sandbox` (API Particulier and API Impôt "
                       "Particulier served over the synthetic population).")
SANDBOX_TOKEN = env_str("PROACTIF_SANDBOX_TOKEN", "sandbox", "Bearer token the sandbox accepts.")
API_PARTICULIER_URL = env_str("PROACTIF_API_PARTICULIER_URL", "http://127.0.0.1:8030",
                              "API Particulier base URL (production: https://particulier.api.gouv.fr; "
                              "the default is the local sandbox).")
API_PARTICULIER_TOKEN = env_str("PROACTIF_API_PARTICULIER_TOKEN", "sandbox", "API Particulier bearer token (JWT).")
RECIPIENT_SIRET = env_str("PROACTIF_RECIPIENT_SIRET", "21000000000019",
                          "SIRET of the administration receiving the data (API Particulier's `recipient`).")
API_IMPOT_URL = env_str("PROACTIF_API_IMPOT_URL", "http://127.0.0.1:8030/impotparticulier/1.0",
                        "API Impôt Particulier base URL (the default is the local sandbox).")
API_IMPOT_TOKEN = env_str("PROACTIF_API_IMPOT_TOKEN", "sandbox", "API Impôt Particulier bearer token (OAuth 2).")
API_IMPOT_TELESERVICE = env_str("PROACTIF_API_IMPOT_TELESERVICE", "proactif",
                                "Calling service identifier sent as `ID_Teleservice`.")
CONNECTOR_CACHE_DAYS = env_int("PROACTIF_CONNECTOR_CACHE_DAYS", 31, "Days an answer about a person and a month is "
                               "reused before the API is asked again.")
LOCAL_AIDS_DIR = env_opt("PROACTIF_LOCAL_AIDS_DIR", "Folder of the local aids' YAML rules screened beside the "
                         "national benefits (default: the shipped examples).")
CONNECTOR_TIMEOUT_MS = env_int("PROACTIF_CONNECTOR_TIMEOUT_MS", 10_000, "Milliseconds to wait for an API's answer.")
PUSH_VAPID_PRIVATE_KEY = env_opt("PROACTIF_PUSH_VAPID_PRIVATE_KEY", "VAPID private key (PEM file path) for "
                                 "Web Push; generated in $PROACTIF_HOME/vapid.pem when unset.")
PUSH_SERVICES = env_list("PROACTIF_PUSH_SERVICES",
                         "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,*.push.apple.com,"
                         "*.notify.windows.com",
                         "Hosts of the browsers' push services a subscription may point to (*.domain for subdomains)")
PUSH_CONTACT = env_str("PROACTIF_PUSH_CONTACT", "mailto:dsi@belleroche.example",
                       "Contact given to push services in the VAPID claims.")
LETTERS_DIR = Path(env_str("PROACTIF_LETTERS_DIR", str(HOME / "letters"),
                           "Directory of the letters (PDF) and the print batches."))
LETTER_SENDER_ADDRESS = env_str("PROACTIF_LETTER_SENDER_ADDRESS", "Mairie de Belleroche|1 place de la Mairie|"
                                "21999 BELLEROCHE", "Return address printed on letters, lines separated by |.")
TEMPLATE_RENDER_MS = env_int("PROACTIF_TEMPLATE_RENDER_MS", 500,
                             "CPU milliseconds one message may take to render; a template running longer is refused "
                             "when saved and fails that message")
TEMPLATE_MAX_OUTPUT_KB = env_int("PROACTIF_TEMPLATE_MAX_OUTPUT_KB", 64,
                                 "Kilobytes of text one message may render to (the same refusal past it)")
QUIET_HOURS = env_str("PROACTIF_QUIET_HOURS", "08:00-20:00",
                      "When non-urgent messages may go out (local time); outside, they wait.")
QUIET_SUNDAYS = env_bool("PROACTIF_SEND_ON_SUNDAYS", False, "Allow non-urgent messages on Sundays.")
QUIET_HOLIDAYS = env_bool("PROACTIF_SEND_ON_HOLIDAYS", False, "Allow non-urgent messages on public holidays.")
ALSACE_MOSELLE = env_bool("PROACTIF_ALSACE_MOSELLE", False,
                          "Add Good Friday and 26 December to the public holidays (Alsace-Moselle).")
CAP_PER_DAY = env_int("PROACTIF_CAP_PER_DAY", 2, "Non-urgent messages per person in 24 hours, at most.")
CAP_PER_WEEK = env_int("PROACTIF_CAP_PER_WEEK", 5, "Non-urgent messages per person in 7 days, at most.")
RATE_LIMITS = env_str("PROACTIF_RATE_LIMITS", "sms=100,email=200,push=200,letter=1000",
                      "Messages per second per service and channel, across all workers.")
FALLBACK_HOURS = env_int("PROACTIF_FALLBACK_HOURS", 24,
                         "Hours without a delivery receipt before an SMS or push falls back to the next channel.")
SEND_LEASE_SECONDS = env_int("PROACTIF_SEND_LEASE_SECONDS", 300, "Seconds a worker holds the messages it is sending; "
                             "after that, the sweeper hands those of a worker that died to another one.")
SEND_TO_SYNTHETIC = env_bool("PROACTIF_SEND_TO_SYNTHETIC", False,
                             "Let real providers message synthetic residents (the sinks always accept them).")
SYNTHETIC_BEHAVIOUR = env_str("PROACTIF_SYNTHETIC_BEHAVIOUR", "auto",
                              "Synthetic residents open links, book, come and collect in demos and simulations: "
                              "auto (when the registry holds synthetic residents), on or off.")
WATCH_DEPARTEMENTS = env_str("PROACTIF_WATCH_DEPARTEMENTS", "",
                             "The collectivité's départements for the vigilance levels, comma-separated (75, 2A, 971); "
                             "default: the département of most of the registry's addresses.")
WATCH_HOURS = env_str("PROACTIF_WATCH_HOURS", "09:00-19:00",
                      "When the heatwave and cold-wave check-ins may go out (local time, every day of the week).")
WATCH_INTERVAL_DAYS = env_int("PROACTIF_WATCH_INTERVAL_DAYS", 1,
                              "Days between two rounds of a plan in campaign (1: daily; 2: every 48 hours).")
WATCH_CHECKIN_RETENTION_DAYS = env_int("PROACTIF_WATCH_CHECKIN_RETENTION_DAYS", 400,
                                       "Days a plan's contacts, answers and call notes are kept after their day.")
WATCH_RAW_RETENTION_DAYS = env_int("PROACTIF_WATCH_RAW_RETENTION_DAYS", 90,
                                   "Days the home devices' raw readings (and refused messages) are kept.")
WATCH_HOURLY_RETENTION_DAYS = env_int("PROACTIF_WATCH_HOURLY_RETENTION_DAYS", 730,
                                      "Days the hourly aggregates of the readings are kept (2 years).")
WATCH_ALERT_RETENTION_DAYS = env_int("PROACTIF_WATCH_ALERT_RETENTION_DAYS", 1826,
                                     "Days a resolved device alert is kept after its resolution (5 years).")
WATCH_DESK_PHONE = env_str("PROACTIF_WATCH_DESK_PHONE", "",
                           "The watch desk's shared mobile (E.164): a critical alert's escalation pages it when no one "
                           "is on call.")
MQTT_URL = env_str("PROACTIF_MQTT_URL", "mqtt://127.0.0.1:1883",
                   "MQTT broker of the home devices, read by `proactif watch ingest`: mqtt://host:1883, or "
                   "mqtts://user:password@host:8883 with TLS (production: one credential per device, an ACL).")
MQTT_CA_FILE = env_str("PROACTIF_MQTT_CA_FILE", "",
                       "CA certificate (PEM) that signed the broker's TLS certificate; empty: the system's CAs.")
DEMO_DEVICES = env_bool("PROACTIF_DEMO_DEVICES", False,
                        "Synthetic home devices lent to registered persons report vitals in real time (48 hours "
                        "back-filled, a deterioration every 2 hours): on in `proactif demo`, off elsewhere.")
MQTT_PASSWORD_FILE = env_str("PROACTIF_MQTT_PASSWORD_FILE", "",
                             "The broker's Mosquitto password file (e.g. /etc/mosquitto/proactif/passwd): `proactif "
                             "watch devices add` and `revoke` write each device's credential there; empty: they do "
                             "not touch the broker (--password-file overrides).")
VIGILANCE_URL = env_str("PROACTIF_VIGILANCE_URL", "",
                        "Météo-France vigilance feed (DPVigilance API, JSON) read every hour; empty: levels are "
                        "entered by agents or imported from a file.")
VIGILANCE_API_KEY = env_str("PROACTIF_VIGILANCE_API_KEY", "", "API key of the Météo-France portal for that feed.")
SINKS = env_bool("PROACTIF_SINKS", True, "Run the built-in sinks (SMTP, SMS and push providers) in the web "
                 "process; turn off when real providers are configured.")
WHATSAPP_URL = env_str("PROACTIF_WHATSAPP_URL", "", "WhatsApp Cloud API messages endpoint "
                       "(https://graph.facebook.com/v21.0/PHONE_NUMBER_ID/messages); default: the built-in sink.")
WHATSAPP_TOKEN = env_str("PROACTIF_WHATSAPP_TOKEN", "sink", "WhatsApp Cloud API access token (bearer).")
WHATSAPP_TEMPLATE = env_str("PROACTIF_WHATSAPP_TEMPLATE", "", "Approved WhatsApp template (name:language, e.g. "
                            "alerte_commune:fr) whose body parameter carries the text; empty: plain text messages, "
                            "which WhatsApp delivers only inside the 24-hour window of a resident's last message.")
MESSENGER_URL = env_str("PROACTIF_MESSENGER_URL", "", "Messenger Send API endpoint "
                        "(https://graph.facebook.com/v21.0/PAGE_ID/messages); default: the built-in sink.")
MESSENGER_TOKEN = env_str("PROACTIF_MESSENGER_TOKEN", "sink", "Messenger page access token.")
MESSENGER_TAG = env_str("PROACTIF_MESSENGER_TAG", "", "Message tag for messages outside the 24-hour window "
                        "(e.g. ACCOUNT_UPDATE); empty: `messaging_type` UPDATE.")
WHATSAPP_APP_SECRET = env_opt("PROACTIF_WHATSAPP_APP_SECRET", "App secret of the Meta app: checks the "
                              "X-Hub-Signature-256 of WhatsApp webhooks (unset: every call refused).")
WHATSAPP_VERIFY_TOKEN = env_opt("PROACTIF_WHATSAPP_VERIFY_TOKEN", "Verify token given to Meta when subscribing "
                                "the WhatsApp webhook (unset: the handshake is refused).")
MESSENGER_APP_SECRET = env_opt("PROACTIF_MESSENGER_APP_SECRET", "App secret of the Meta app: checks the "
                               "X-Hub-Signature-256 of Messenger webhooks (unset: every call refused).")
MESSENGER_VERIFY_TOKEN = env_opt("PROACTIF_MESSENGER_VERIFY_TOKEN", "Verify token given to Meta when subscribing "
                                 "the Messenger webhook (unset: the handshake is refused).")
WEBHOOK_MAX_AGE_SECONDS = env_int("PROACTIF_WEBHOOK_MAX_AGE_SECONDS", 300, "Seconds an SMS provider's signed "
                                  "receipt or inbound message stays valid after its X-Proactif-Timestamp; older "
                                  "(a replay) or from the future, it is refused.")
DEMO = env_str("PROACTIF_DEMO", "auto", "Demo mode, where the shipped SMS receipt secrets are accepted: auto "
               "(when every SMS provider is a built-in sink on this machine), true or false (production: any "
               "provider with a shipped or empty secret stops the start).")


def _refuse_shipped_receipt_secrets() -> None:
    """Anyone may read the shipped secrets: outside a demo they would let anyone forge receipts and STOPs."""
    import json
    from urllib.parse import urlsplit

    from django.core.exceptions import ImproperlyConfigured

    if DEMO not in ("auto", "true", "false"):
        raise ImproperlyConfigured(f"PROACTIF_DEMO must be auto, true or false, got {DEMO!r}")
    try:
        sms_providers = [p for p in json.loads(SMS_PROVIDERS) if isinstance(p, dict)]
        local = all(p.get("sink", urlsplit(str(p.get("url", ""))).hostname in ("127.0.0.1", "localhost", "::1"))
                    for p in sms_providers)
    except (ValueError, TypeError):
        return  # not a list of providers: the SMS adapter refuses it, with the reason
    if DEMO == "true" or (DEMO == "auto" and local):
        return
    weak = [str(p.get("name")) for p in sms_providers if p.get("secret") in (None, "", *_SHIPPED_SECRETS)]
    if weak:
        raise ImproperlyConfigured(
            f"PROACTIF_SMS_PROVIDERS: {', '.join(weak)} still has the shipped or an empty receipt secret outside "
            "demo mode; give each provider a secret of its own (or set PROACTIF_DEMO=true for a demo)")


_SHIPPED_SECRETS = ("receipt-secret-a", "receipt-secret-b")
_refuse_shipped_receipt_secrets()

# --- alerts ---------------------------------------------------------------------------------
ALERT_APPROVAL_THRESHOLD = env_int("PROACTIF_ALERT_APPROVAL_THRESHOLD", 1000, "Residents above which an alert "
                                   "waits for a second agent's approval before it leaves (0: never).")
ALERT_TEST_CONTACTS = env_list("PROACTIF_ALERT_TEST_CONTACTS", "", "Phone numbers and e-mail addresses an "
                               "exercise reaches (comma-separated): the residents holding them, and only them.")
MAP_PMTILES = env_opt("PROACTIF_MAP_PMTILES", "A local raster PMTiles file (PNG, JPEG or WebP tiles: an "
                      "orthophoto, a rendered plan) shown under the alerts map's layers; none by default.")
MAP_ATTRIBUTION = env_str("PROACTIF_MAP_ATTRIBUTION", "", "Credit line of that basemap (e.g. « IGN — BD ORTHO »).")
ALERT_SENDER = env_str("PROACTIF_ALERT_SENDER", "alertes@belleroche.example",
                       "CAP `sender`: the collectivité's alerting address, unique to it.")

# --- privacy and retention ------------------------------------------------------------------
AUDIT_RETENTION_DAYS = env_int("PROACTIF_AUDIT_RETENTION_DAYS", 365,
                               "Days access-log rows are kept (CNIL délibération 2021-122: 6 months to 1 year).")
RESIDENT_RETENTION_DAYS = env_int("PROACTIF_RESIDENT_RETENTION_DAYS", 730,
                                  "Days a moved-out or deceased resident's data is kept before the purge "
                                  "anonymises it.")
CONSENT_PROOF_RETENTION_DAYS = env_int("PROACTIF_CONSENT_PROOF_RETENTION_DAYS", 1825,
                                       "Days a superseded consent decision is kept as proof (5 years).")
MESSAGE_RETENTION_DAYS = env_int("PROACTIF_MESSAGE_RETENTION_DAYS", 365,
                                 "Days the text and recipient of a sent message are kept (the trace stays).")
IMPORT_REPORT_RETENTION_DAYS = env_int("PROACTIF_IMPORT_REPORT_RETENTION_DAYS", 90,
                                       "Days import error reports (which quote rejected values) are kept.")
CONNECTOR_LOG_RETENTION_DAYS = env_int("PROACTIF_CONNECTOR_LOG_RETENTION_DAYS", 1095,
                                       "Days a row of the log of calls to other administrations' APIs is kept "
                                       "(traceability of the exchanges; 3 years).")

# --- the public website's personalisation (opt-in) and newsletters -------------------------------
INTEREST_HALF_LIFE_DAYS = env_int("PROACTIF_INTEREST_HALF_LIFE_DAYS", 30,
                                  "Days after which an inferred interest of a site visitor counts half.")
PERSONALISATION_CONTROL_PERCENT = env_int("PROACTIF_PERSONALISATION_CONTROL_PERCENT", 10,
                                          "Percent of consenting visitors kept on the default order (control group "
                                          "measuring the personalisation's effect).")
ASSIST_SITES = env_list("PROACTIF_ASSIST_SITES", "", "Codes ([a-z0-9-]) of the collectivité's other sites that may "
                        "ask the recommendations API and get a visitor's pseudonym.")
NEWSLETTER_ALLOWED_DOMAINS = env_list("PROACTIF_NEWSLETTER_ALLOWED_DOMAINS", "", "Domains a newsletter's links may "
                                      "lead to besides the site, comma-separated.")
NEWSLETTER_HOURS = env_str("PROACTIF_NEWSLETTER_HOURS", QUIET_HOURS, "When newsletters may go out (local time).")
EVENTS_PER_MINUTE = env_int("PROACTIF_EVENTS_PER_MINUTE", 600,
                            "Events the site's ingestion endpoint accepts per minute from one address.")

# --- the public website's CMS (Wagtail) ---------------------------------------------------------
WAGTAIL_SITE_NAME = COLLECTIVITE_NAME
WAGTAILADMIN_BASE_URL = PUBLIC_URL  # the links the CMS writes (previews, notifications)
WAGTAILADMIN_LOGIN_URL = "accounts:login"
WAGTAIL_FRONTEND_LOGIN_URL = "accounts:login"
WAGTAIL_I18N_ENABLED = False
WAGTAIL_ENABLE_UPDATE_CHECK = False  # offline: the admin never calls wagtail.org
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # nor gravatar.com (an agent's e-mail hash would leave with it)
WAGTAIL_ENABLE_WHATS_NEW_BANNER = False
WAGTAILADMIN_COMMENTS_ENABLED = False
WAGTAIL_ALLOW_UNICODE_SLUGS = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILIMAGES_EXTENSIONS = ["jpg", "jpeg", "png", "webp"]
WAGTAILDOCS_EXTENSIONS = ["pdf", "odt", "ods", "docx", "xlsx", "csv", "txt"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False  # agents' passwords are the platform's (accounts)
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILUSERS_PASSWORD_ENABLED = False
MEDIA_ROOT = Path(env_str("PROACTIF_MEDIA_ROOT", str(HOME / "media"),
                          "Where the CMS keeps uploaded documents and images."))
MEDIA_URL = "/media/"

# --- static files, i18n --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("PROACTIF_STATIC_ROOT", str(HOME / "static"),
                           "Where `collectstatic` gathers the static files served by WhiteNoise."))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = Path(env_str("PROACTIF_NODE_MODULES", str(ROOT / "node_modules"),
                            "Directory holding the npm front-end packages (DSFR, HTMX, Leaflet…)."))
_VENDOR = {
    "dsfr": "@gouvfr/dsfr/dist",
    "vendor/htmx": "htmx.org/dist",
    "vendor/leaflet": "leaflet/dist",
    "vendor/chartjs": "chart.js/dist",
    "vendor/terra-draw": "terra-draw/dist",
    "vendor/terra-draw-leaflet-adapter": "terra-draw-leaflet-adapter/dist",
    "vendor/pmtiles": "pmtiles/dist",
}
STATICFILES_DIRS = [(prefix, str(NODE_MODULES / sub)) for prefix, sub in _VENDOR.items()
                    if (NODE_MODULES / sub).is_dir()]
WHITENOISE_USE_FINDERS = not (STATIC_ROOT / "staticfiles.ok").exists()
WHITENOISE_AUTOREFRESH = DEBUG

LANGUAGE_CODE = "fr"
FORMAT_MODULE_PATH = ["proactif.formats"]  # thousands grouped by a narrow no-break space
LANGUAGES = [("fr", "Français"), ("en", "English")]
TIME_ZONE = env_str("PROACTIF_TIME_ZONE", "Europe/Paris", "The collectivité's time zone (IANA name: "
                    "America/Cayenne, Indian/Reunion…): local dates, quiet hours, opening hours, reminder times.")
try:
    time_zone(TIME_ZONE)  # kernel.apps hands it to the clock
except ValueError as _exc:
    raise ValueError(f"PROACTIF_TIME_ZONE: {_exc}") from None
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [Path(__file__).parent / "locale"]

# --- logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("PROACTIF_LOG_LEVEL", "INFO", "Log level (DEBUG, INFO, WARNING…).")
LOG_FORMAT = env_str("PROACTIF_LOG_FORMAT", "json", "Log format: json (one object a line) or console.")
LOGGING_CONFIG = None
from proactif.kernel.logging import configure_logging  # noqa: E402

configure_logging(LOG_LEVEL, LOG_FORMAT)
