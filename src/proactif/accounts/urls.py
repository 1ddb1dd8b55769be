from django.urls import path

from proactif.accounts import views

app_name = "accounts"
urlpatterns = [
    path("connexion/", views.login_view, name="login"),
    path("connexion/oidc/", views.oidc_start, name="oidc_start"),
    path("connexion/oidc/retour/", views.oidc_callback, name="oidc_callback"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("finalite/", views.choose_purpose, name="choose_purpose"),
    path("administration/agents/", views.agents, name="agents"),
    path("administration/agents/<int:agent_id>/deverrouiller/", views.unlock, name="unlock"),
    path("administration/cles-api/", views.api_keys, name="api_keys"),
    path("administration/cles-api/<int:key_id>/revoquer/", views.revoke_key, name="revoke_key"),
]
