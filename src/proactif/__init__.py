"""Proactif: proactive public administration."""

__version__ = "0.1.0"
