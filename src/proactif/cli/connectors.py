"""Connectors to other administrations: the local sandbox."""

from __future__ import annotations

import click

from proactif.cli import main, setup, wait_until_interrupted


@main.command()
@click.option("--port", default=None, type=int, help="Port (default PROACTIF_SANDBOX_PORT, 8030).")
@click.option("--rate-limit", default=600, show_default=True, help="Calls per minute and token before 429.")
def sandbox(port: int | None, rate_limit: int) -> None:
    """Serve API Particulier v3 and API Impôt Particulier locally over the synthetic population, as their
    specifications describe them (answers, errors, rate limits), until interrupted. The default connector
    settings point at it.

    Example: proactif sandbox --port 8030
    """
    setup()
    from django.conf import settings

    from proactif.connectors import services as connectors

    server = connectors.serve_sandbox(port, rate_limit)
    address = f"http://127.0.0.1:{server.server_address[1]}"
    click.echo(f"sandbox: API Particulier {address}/v3/…, API Impôt Particulier {address}/impotparticulier/1.0/… "
               f"(token « {settings.SANDBOX_TOKEN} »); Ctrl-C to stop", err=True)
    wait_until_interrupted()
    server.shutdown()
