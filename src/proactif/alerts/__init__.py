"""Use case 2 — event alerts on a map: incidents, targeting, dispatch, CAP."""
