"""Use case 5 — watch over vulnerable people: registry, telemetry, scoring, escalation, heatwave."""
