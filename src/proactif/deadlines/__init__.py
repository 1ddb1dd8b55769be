"""Use case 1 — anticipate a deadline: identity documents (passport, CNI) and any dated item."""
