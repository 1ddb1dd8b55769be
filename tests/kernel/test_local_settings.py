"""Settings that reach outside the process: the SQLite file's permissions, the sinks' ports in the default SMTP
server and SMS providers. Each is read by a fresh interpreter, as a start would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path


def test_the_sqlite_database_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """It was created 0644 (the umask's default): any local account could copy the registry."""
    home = tmp_path / "home"
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEFAULT_SQLITE)"
    env = {**os.environ, "PROACTIF_HOME": str(home), "DJANGO_SETTINGS_MODULE": "proactif.settings"}
    env.pop("DATABASE_URL", None)
    path = Path(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                               text=True).stdout.strip())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # a database made before the fix is narrowed at the next start
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_default_sms_providers_follow_the_sink_port(tmp_path: Path) -> None:
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.SMS_PROVIDERS); print(settings.SMTP_PORT)")
    env = {**os.environ, "PROACTIF_HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "proactif.settings",
           "PROACTIF_SINK_HTTP_PORT": "18126", "PROACTIF_SINK_SMTP_PORT": "18125"}
    for name in ("PROACTIF_SMS_PROVIDERS", "PROACTIF_SMTP_PORT", "DATABASE_URL"):
        env.pop(name, None)
    providers, smtp_port = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                          text=True).stdout.strip().splitlines()
    assert {p["url"].split("/sms/")[0] for p in json.loads(providers)} == {"http://127.0.0.1:18126"}
    assert smtp_port == "18125"
