"""Agents and API keys."""

from __future__ import annotations

import json
import os

import click

from proactif.cli import ID, emit, main, setup
from proactif.cli.data import _new_password


@main.group()
def agent() -> None:
    """Agents of the collectivité."""


@agent.command("create")
@click.argument("email")
@click.option("--service", required=True, help="Service code (etat_civil, ccas, communication, …).")
@click.option("--role", default="agent", type=click.Choice(["agent", "responsable", "dpo", "admin"]))
@click.option("--first-name", default="")
@click.option("--last-name", default="")
def agent_create(email: str, service: str, role: str, first_name: str, last_name: str) -> None:
    """Create an agent; the password is read from PROACTIF_AGENT_PASSWORD or generated and printed once.

    Example: proactif agent create c.martin@mairie.example.fr --service etat_civil
    """
    setup()
    from proactif.accounts import services as accounts

    password = os.environ.get("PROACTIF_AGENT_PASSWORD") or _new_password()
    try:
        accounts.create_agent(email, password, service=service, role=role, first_name=first_name,
                              last_name=last_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"agent créé : {email}" + ("" if "PROACTIF_AGENT_PASSWORD" in os.environ else
                                          f" — mot de passe : {password}"))


@agent.command("unlock")
@click.argument("email")
def agent_unlock(email: str) -> None:
    """Example: proactif agent unlock c.martin@mairie.example.fr"""
    setup()
    from proactif.accounts import services as accounts

    found = accounts.find_agent_by_email(email)
    if found is None:
        raise click.ClickException(f"agent inconnu : {email}")
    accounts.unlock_agent(found.pk)
    click.echo(f"compte déverrouillé : {email}")


@main.group()
def apikey() -> None:
    """API keys for machine clients."""


@apikey.command("create")
@click.option("--service", required=True)
@click.option("--name", required=True)
@click.option("--kind", default="test", type=click.Choice(["live", "test"]), show_default=True)
@click.option("--scope", "scopes", multiple=True, required=True,
              help="A declared scope (registry:read, registry:write, journeys:read, journeys:write, alerts:read, "
                   "alerts:write, audit:read); it must serve one of the service's purposes.")
def apikey_create(service: str, name: str, kind: str, scopes: tuple[str, ...]) -> None:
    """Create a key; its token is printed once.

    Example: proactif apikey create --service etat_civil --name "logiciel état civil" --kind live --scope registry:read
    """
    setup()
    from proactif.accounts import services as accounts

    try:
        key, token = accounts.create_api_key(service, name, kind, list(scopes))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({"id": key.pk, "token": token, "scopes": key.scopes, "kind": key.kind}))


@apikey.command("revoke")
@click.argument("key_id", type=ID)
def apikey_revoke(key_id: int) -> None:
    """Example: proactif apikey revoke 3"""
    setup()
    from proactif.accounts import services as accounts

    if not accounts.revoke_api_key(key_id):
        raise click.ClickException(f"clé {key_id} inconnue ou déjà révoquée")
    click.echo(f"clé {key_id} révoquée")




@main.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object of figures.")
def check(as_json: bool) -> None:
    """Check the capabilities' declarations: every route and API operation has an access rule, every table about
    people a GDPR handling; exits non-zero with one line per problem.

    Example: proactif check --json
    """
    setup(migrate=False)
    from proactif.kernel import capabilities

    problems = capabilities.check_declarations()
    declared = capabilities.declared()
    figures = {"capabilities": len(declared),
               "routes": sum(len(p.routes) for c in declared for p in c.pages),
               "api_operations": sum(len(r.rules) for r in capabilities.api_routers()),
               "gdpr_handlings": len(capabilities.personal_data()), "problems": problems}
    if problems and not as_json:
        raise click.ClickException("\n".join(problems))
    emit(as_json, figures, lambda: click.echo(
        f"{figures['capabilities']} capacités déclarées : {figures['routes']} pages et {figures['api_operations']} "
        f"opérations d'API, chacune avec sa règle d'accès ; {figures['gdpr_handlings']} traitements RGPD."))
    if problems:
        raise SystemExit(1)
