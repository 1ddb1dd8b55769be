"""Progressive profiling (« Mieux vous connaître »), one question at a time, and the per-site pseudonym the
visitor's own browser may hand to another site of the collectivité. Both only for a visitor who accepted
personalisation: without it, the page explains and links to the cookie settings."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proactif.assist import _consent, _questions, api, services
from proactif.assist._rules import VISITOR
from proactif.assist.models import Profile
from proactif.kernel.capabilities import Route, route

PASSED_COOKIE = "proactif_questions_passees"  # the questions passed, for this browsing session only
PAGE = "/site/mieux-vous-connaitre/"
# Without consent to personalisation nothing is kept nor given: 409, the visitor's own choice standing in the way (a
# 403 would say the route's access rule refused them; the route is open to every visitor)
CONSENT_NEEDED = 409


def _allowed(request: HttpRequest) -> bool:
    decision = _consent.current(request)
    return decision is not None and decision.allows("personnalisation")


def _profile(request: HttpRequest, response: HttpResponse | None = None) -> Profile | None:
    """The visitor's profile (created when their consent allows and `response` can carry its cookie)."""
    from proactif.assist import _profiles

    if response is not None:
        return _profiles.ensure(request, response)
    return _profiles.current(request)


def _passed(request: HttpRequest) -> set[str]:
    raw = request.COOKIES.get(PASSED_COOKIE, "")
    return {key for key in raw.split(".") if key in _questions.BY_KEY}


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def questions(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return _no_store(render(request, "assist/questions.html", {**services.frame(request), "allowed": False},
                                status=CONSENT_NEEDED if request.method == "POST" else 200))
    passed = _passed(request)
    if request.method == "POST":
        response = HttpResponseRedirect(PAGE)
        profile = _profile(request, response)
        if profile is None:
            return _no_store(render(request, "assist/questions.html", {**services.frame(request), "allowed": False},
                                    status=CONSENT_NEEDED))
        key = request.POST.get("question", "")
        if request.POST.get("action") == "passer":
            if key in _questions.BY_KEY:
                passed.add(key)
            response.set_cookie(PASSED_COOKIE, ".".join(sorted(passed)), httponly=True, samesite="Lax",
                                secure=request.is_secure())
            return _no_store(response)
        try:
            _questions.answer(profile, key, request.POST.getlist("reponse"))
        except _questions.AnswerError as exc:
            question = _questions.BY_KEY.get(key) or _questions.next_question(profile.answers, passed)
            refused = render(request, "assist/questions.html", {
                **services.frame(request), "allowed": True, "question": question,
                "choices": _questions.choices(question) if question else (), "error": str(exc),
                "answers": _questions.summary(profile), "version": _questions.VERSION}, status=400)
            refused.cookies.update(response.cookies)  # the profile just made keeps its cookie
            return _no_store(refused)
        return _no_store(response)
    profile = _profile(request)
    answers = profile.answers if profile is not None else {}
    question = _questions.next_question(answers, passed)
    return _no_store(render(request, "assist/questions.html", {
        **services.frame(request), "allowed": True, "question": question,
        "choices": _questions.choices(question) if question else (),
        "answers": _questions.summary(profile) if profile is not None else [],
        "version": _questions.VERSION, "deleted": request.GET.get("supprime") == "1"}))


@require_POST
def forget(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect(PAGE + "?supprime=1")
    profile = _profile(request) if _allowed(request) else None
    if profile is not None:
        _questions.forget(profile)
    response.delete_cookie(PASSED_COOKIE, samesite="Lax")
    return _no_store(response)


@require_GET
def site_pseudonym(request: HttpRequest, site: str) -> HttpResponse:
    """The name `site` knows this visitor by: for their own browser, with their consent to personalisation."""
    if site not in api.sites() or not api.SITE_CODE.fullmatch(site):
        return _no_store(JsonResponse({"detail": "site inconnu"}, status=404))
    profile = _profile(request) if _allowed(request) else None
    if profile is None:
        return _no_store(JsonResponse({"detail": "la personnalisation n'est pas acceptée dans ce navigateur : "
                                                 "rien n'est transmis aux autres sites"}, status=CONSENT_NEEDED))
    return _no_store(JsonResponse({"site": site, "pseudonyme": api.pseudonym(profile, site)}))


ROUTES: tuple[Route, ...] = (
    route("mieux-vous-connaitre/", questions, VISITOR, "questions"),
    route("mieux-vous-connaitre/supprimer/", forget, VISITOR, "questions_forget"),
    route("pseudonyme/<str:site>/", site_pseudonym, VISITOR, "pseudonym"),
)
