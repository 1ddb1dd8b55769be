"""Journeys: versioned definitions, durable instances, the engine that advances them, agent takeover."""
