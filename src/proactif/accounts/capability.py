"""Accounts: agents log in, choose the purpose of their session; the administrator manages agents and keys."""

from proactif.accounts import services, views
from proactif.accounts.domain import Role
from proactif.kernel.capabilities import Capability, HomeBlock, Nav, NoPersonalData, Pages, agent, public, route

ADMIN = agent(roles=[Role.ADMIN])

CAPABILITY = Capability(
    name="accounts", label="Comptes et services",
    personal_data=NoPersonalData("les comptes des agents et leurs tentatives de connexion (purgées après 30 jours), "
                                 "aucune donnée d'habitant"),
    pages=(Pages("", "accounts", (
        route("connexion/", views.login_view, public("la page de connexion des agents"), "login"),
        route("connexion/oidc/", views.oidc_start, public("le départ vers le fournisseur d'identité (ProConnect)"),
              "oidc_start"),
        route("connexion/oidc/retour/", views.oidc_callback,
              public("le retour du fournisseur d'identité, vérifié par l'état et le nonce de la session"),
              "oidc_callback"),
        route("deconnexion/", views.logout_view, agent(), "logout"),
        route("finalite/", views.choose_purpose, agent(), "choose_purpose"),
        route("administration/agents/", views.agents, ADMIN, "agents"),
        route("administration/agents/<int:agent_id>/deverrouiller/", views.unlock, ADMIN, "unlock"),
        route("administration/agents/<int:agent_id>/activation/", views.activation, ADMIN, "activation"),
        route("administration/agents/<int:agent_id>/reinitialiser/", views.send_reset, ADMIN, "send_reset"),
        route("connexion/nouveau-mot-de-passe/<str:uidb64>/<str:token>/", views.new_password,
              public("le choix d'un nouveau mot de passe, ouvert par le lien à usage unique envoyé à l'agent "
                     "(jeton signé, valable 24 heures)"), "new_password"),
        route("administration/cles-api/", views.api_keys, ADMIN, "api_keys"),
        route("administration/cles-api/<int:key_id>/revoquer/", views.revoke_key, ADMIN, "revoke_key"),
    )),),
    home=(HomeBlock("Comptes et clés", "accounts:agents", "accounts/_home.html", services.home_accounts, 80),),
    nav=(Nav("Agents", "accounts:agents", 90), Nav("Clés d'API", "accounts:api_keys", 91)),
    install=services.ensure_default_services,
)
