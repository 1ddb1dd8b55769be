"""Messaging metrics (Prometheus): no personal data in labels."""

from prometheus_client import Counter, Histogram

MESSAGES = Counter("proactif_messages_total", "Outbox messages by channel and final status", ["channel", "status"])
PROVIDER_CALLS = Counter("proactif_provider_calls_total", "Calls to providers", ["channel", "provider", "outcome"])
PROVIDER_SECONDS = Histogram("proactif_provider_call_seconds", "Provider call duration", ["channel", "provider"])
DEFERRED = Counter("proactif_messages_deferred_total", "Messages deferred", ["reason"])
POSSIBLE_DUPLICATES = Counter("proactif_messages_possible_duplicate_total",
                              "Messages sent again after an attempt whose outcome was unknown, on a channel whose "
                              "provider does not deduplicate (e-mail): the resident may receive two copies",
                              ["channel"])
