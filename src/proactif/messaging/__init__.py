"""Messaging: templates, the outbox, channel adapters and sinks, receipts and replies, citizen links,
engagement and send-time optimisation."""
