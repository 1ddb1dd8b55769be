"""Audit: the access log, GDPR rights (export, erasure) and retention purges."""
