"""Use case 4 — rights detection: who may be entitled to a benefit they do not receive."""
