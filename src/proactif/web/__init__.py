"""Web shell: base layout (DSFR, the collectivité's identity), home dashboard, health and metrics."""
