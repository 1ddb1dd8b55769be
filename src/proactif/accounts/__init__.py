"""Accounts: services, agents, roles and purposes, login (password or OIDC), API keys."""
