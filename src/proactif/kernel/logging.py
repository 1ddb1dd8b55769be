"""Structured logging: JSON lines on stderr (stdout stays free for `--json` command output).

Never pass message bodies or personal identifiers to info-level logs: log ids and counts.
"""

from __future__ import annotations

import logging
import logging.config
import sys

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    renderer: structlog.types.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    else:
        renderer = structlog.processors.JSONRenderer()
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": _SHARED,
            },
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                       "formatter": "structured"},
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            # Request lines carry URLs with search terms: keep them out of info logs.
            "django.server": {"level": "WARNING"},
            "gunicorn.access": {"level": "WARNING"},
            "celery": {"level": "WARNING" if level.upper() == "INFO" else level.upper()},
            "faker": {"level": "WARNING"},
            # the CMS keeps its own log of page actions (wagtail's log entries); one line a task or a page saved
            # would bury the platform's own lines (the demo's site alone is 138 pages × 5)
            "wagtail": {"level": "WARNING" if level.upper() == "INFO" else level.upper()},
            "django_tasks": {"level": "WARNING" if level.upper() == "INFO" else level.upper()},
        },
    })
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)  # type: ignore[no-any-return]
