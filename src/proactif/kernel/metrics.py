"""Prometheus metrics (served at /metrics). Labels never carry personal data."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

TASKS = Counter("proactif_tasks_total", "Tasks run, by task and outcome", ["task", "status"])
TASK_SECONDS = Histogram("proactif_task_seconds", "Task duration", ["task"])
HTTP_REQUESTS = Counter("proactif_http_requests_total", "HTTP requests", ["method", "status"])
HTTP_SECONDS = Histogram("proactif_http_request_seconds", "HTTP request duration")
AUDIT_ROWS = Counter("proactif_audit_rows_total", "Access-log rows written", ["action"])
LOGIN_FAILURES = Counter("proactif_login_failures_total", "Failed agent logins")
IMPORT_ROWS = Counter("proactif_import_rows_total", "Imported rows, by kind and outcome", ["kind", "outcome"])
REGISTRY_PERSONS = Gauge("proactif_registry_persons", "Residents in the registry (active)",
                         multiprocess_mode="max")


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
