"""Connectors to other administrations' APIs (API Particulier, API Impôt Particulier) and their sandbox."""
