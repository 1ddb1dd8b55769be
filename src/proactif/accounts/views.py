from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from proactif.accounts import _oidc as oidc
from proactif.accounts import services
from proactif.accounts.domain import PURPOSES
from proactif.accounts.forms import AgentForm, ApiKeyForm, LoginForm
from proactif.kernel import clock
from proactif.kernel.logging import get_logger
from proactif.kernel.middleware import client_ip

log = get_logger(__name__)
BACKEND = "proactif.accounts._backends.AgentBackend"

# An unknown e-mail, a wrong password, a locked or a deactivated account get the same answer (text and status):
# the login page does not tell who has an account nor what state it is in. The lockout still applies.
REFUSED = ("Adresse e-mail ou mot de passe incorrect. Après {failures} erreurs, le compte est verrouillé "
           "{minutes} minutes ; l'administrateur peut le déverrouiller.")
THROTTLED = "Trop de tentatives depuis ce poste. Patientez quelques minutes avant de réessayer."


def _next_url(request: HttpRequest, target: str | None = None) -> str:
    """Where to go after logging in: `next` when it stays on this site, else the dashboard."""
    if target is None:
        target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = LoginForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        result = services.authenticate_agent(form.cleaned_data["email"], form.cleaned_data["password"],
                                             client_ip(request))
        if result.ok:
            assert result.agent is not None
            request.session.cycle_key()
            login(request, result.agent, backend=BACKEND)
            return redirect(_next_url(request))
        if result.reason == "throttled":  # about this address, not about the account
            error, status = THROTTLED, 429
        else:
            error = REFUSED.format(failures=settings.LOGIN_MAX_FAILURES, minutes=settings.LOGIN_LOCKOUT_MINUTES)
            status = 401
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login.html", {
        "form": form, "error": error, "next": request.GET.get("next", ""), "oidc_enabled": oidc.enabled(),
        "oidc_label": settings.OIDC_LABEL}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    id_token = request.session.get("oidc_id_token")
    logout(request)
    if id_token and oidc.enabled():
        url = oidc.logout_url(id_token, request.build_absolute_uri(reverse("accounts:login")))
        if url:
            return HttpResponseRedirect(url)
    return redirect("accounts:login")


def oidc_start(request: HttpRequest) -> HttpResponse:
    if not oidc.enabled():
        return redirect("accounts:login")
    auth = oidc.authorization_request(request.build_absolute_uri(reverse("accounts:oidc_callback")))
    request.session["oidc"] = {"state": auth.state, "nonce": auth.nonce, "verifier": auth.code_verifier,
                               "next": _next_url(request, request.GET.get("next", ""))}
    return HttpResponseRedirect(auth.url)


def oidc_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop("oidc", None)
    if not pending or request.GET.get("state") != pending["state"] or "code" not in request.GET:
        messages.error(request, "La connexion a échoué (réponse inattendue du fournisseur d'identité).")
        return redirect("accounts:login")
    try:
        identity = oidc.complete(request.GET["code"], request.build_absolute_uri(reverse("accounts:oidc_callback")),
                                 pending["nonce"], pending["verifier"])
    except (oidc.OidcError, ValueError) as exc:
        log.warning("oidc login failed", reason=str(exc))
        messages.error(request, f"La connexion a échoué : {exc}")
        return redirect("accounts:login")
    agent = oidc.agent_for(identity)
    if agent is None:
        messages.error(request, "Aucun compte agent actif ne correspond à cette identité. "
                                "Demandez à l'administrateur de créer votre compte.")
        return redirect("accounts:login")
    request.session.cycle_key()
    login(request, agent, backend=BACKEND)
    request.session["oidc_id_token"] = identity.id_token
    return redirect(_next_url(request, pending.get("next") or ""))  # checked again: the session may be older


@require_POST
def choose_purpose(request: HttpRequest) -> HttpResponse:
    purpose = request.POST.get("purpose", "")
    if not request.actor.can_use(purpose):
        return HttpResponse("finalité inconnue ou non ouverte à votre service", status=400,
                            content_type="text/plain; charset=utf-8")
    request.session[services.SESSION_PURPOSE] = purpose
    messages.info(request, f"Finalité de consultation : {PURPOSES[purpose].label}.")
    return redirect(_next_url(request))


# --- administration -------------------------------------------------------------------------
def _service_choices() -> list[tuple[str, str]]:
    return [(s.code, s.name) for s in services.list_services()]


@require_http_methods(["GET", "POST"])
def agents(request: HttpRequest) -> HttpResponse:
    form = AgentForm(request.POST or None, services=_service_choices())
    if request.method == "POST" and form.is_valid():
        new_password = services.new_password()
        try:
            agent = services.create_agent(form.cleaned_data["email"], new_password,
                                          service=form.cleaned_data["service"] or None,
                                          role=form.cleaned_data["role"], first_name=form.cleaned_data["first_name"],
                                          last_name=form.cleaned_data["last_name"])
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            # Shown on this answer only, like an API key: never in the messages cookie (signed, not encrypted)
            # nor in the session, and not cached by the browser.
            response = render(request, "accounts/agents.html", {
                "agents": services.list_agents(), "form": AgentForm(services=_service_choices()),
                "now": clock.now(), "created": agent, "new_password": new_password})
            add_never_cache_headers(response)
            return response
    return render(request, "accounts/agents.html", {"agents": services.list_agents(), "form": form,
                                                    "now": clock.now()},
                  status=400 if request.method == "POST" else 200)


@require_POST
def activation(request: HttpRequest, agent_id: int) -> HttpResponse:
    wanted = request.POST.get("actif")
    if wanted not in ("0", "1"):  # say which: never deactivate by default
        return HttpResponse("actif : 0 (désactiver) ou 1 (réactiver)", status=400, content_type="text/plain")
    active = wanted == "1"
    try:
        agent = services.set_agent_active(agent_id, active, request.user)  # type: ignore[arg-type]
    except services.Agent.DoesNotExist:
        raise Http404("agent inconnu") from None
    except ValueError as exc:
        messages.error(request, str(exc).capitalize() + ".")
    else:
        messages.success(request, f"Compte {'réactivé' if active else 'désactivé'} : {agent.email}.")
    return redirect("accounts:agents")


@require_POST
def send_reset(request: HttpRequest, agent_id: int) -> HttpResponse:
    try:
        agent = services.send_reset_link(agent_id, settings.PUBLIC_URL)
    except services.Agent.DoesNotExist:
        raise Http404("agent inconnu") from None
    except ValueError as exc:
        messages.error(request, str(exc).capitalize() + ".")
    except OSError:
        messages.error(request, "Le serveur de messagerie n'a pas répondu : aucun lien n'a été envoyé.")
    else:
        messages.success(request, f"Un lien pour choisir un nouveau mot de passe a été envoyé à {agent.email} "
                                  f"(valable {services.RESET_HOURS} heures, une seule fois).")
    return redirect("accounts:agents")


@require_http_methods(["GET", "POST"])
def new_password(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    agent = services.agent_from_reset(uidb64, token)
    if agent is None:
        return render(request, "accounts/new_password.html", {"invalid": True}, status=400)
    error = ""
    if request.method == "POST":
        password, again = request.POST.get("password", ""), request.POST.get("password2", "")
        if password != again:
            error = "Les deux mots de passe ne sont pas identiques."
        else:
            try:
                services.set_agent_password(agent, password)
            except ValueError as exc:
                error = str(exc).capitalize()
            else:
                messages.success(request, "Mot de passe enregistré : connectez-vous.")
                return redirect("accounts:login")
    response = render(request, "accounts/new_password.html", {"agent": agent, "error": error},
                      status=400 if error else 200)
    add_never_cache_headers(response)
    return response


@require_POST
def unlock(request: HttpRequest, agent_id: int) -> HttpResponse:
    if not services.unlock_agent(agent_id):
        raise Http404("agent inconnu")
    messages.success(request, "Compte déverrouillé.")
    return redirect("accounts:agents")


@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None, services=_service_choices())
    token = ""
    if request.method == "POST" and form.is_valid():
        try:
            _, token = services.create_api_key(form.cleaned_data["service"], form.cleaned_data["name"],
                                               form.cleaned_data["kind"], form.cleaned_data["scopes"],
                                               created_by=request.user,  # type: ignore[arg-type]
                                               expires_in_days=form.cleaned_data["expires_in_days"])
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            form = ApiKeyForm(services=_service_choices())
    return render(request, "accounts/api_keys.html", {"keys": services.list_api_keys(), "form": form,
                                                      "token": token},
                  status=400 if request.method == "POST" and not token else 200)


@require_POST
def revoke_key(request: HttpRequest, key_id: int) -> HttpResponse:
    if not services.revoke_api_key(key_id):
        raise Http404("clé inconnue ou déjà révoquée")
    messages.success(request, "Clé révoquée.")
    return redirect("accounts:api_keys")
