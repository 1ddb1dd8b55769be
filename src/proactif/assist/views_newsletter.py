"""Newsletters, the subscriber's side (issue 20, part C): subscribing (double opt-in), confirming, the
preferences page and the one-click unsubscribe reached by the signed links of each letter, the signed redirect
that counts a block's clicks — and the declarations that go with them: bounces and complaints heard from the
messaging engine, the send-time rules of the `information` purpose."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from proactif.assist import _newsletter as newsletter
from proactif.assist import _profiles, services
from proactif.assist._rules import SITE, SUBSCRIBER
from proactif.assist.models import Subscriber, Theme
from proactif.kernel.capabilities import Listener, Route, Sending, route


def _frame(request: HttpRequest) -> dict[str, Any]:
    return services.frame(request)


def _bad_link(request: HttpRequest, status: int = 400) -> HttpResponse:
    return render(request, "assist/newsletter_link_invalid.html", _frame(request), status=status)


def _session_person(request: HttpRequest) -> int | None:
    try:
        from proactif.assist import _resident
    except ImportError:  # part E not written yet: no resident is ever recognised
        return None
    person: int | None = _resident.session_person(request)
    return person


@require_http_methods(["GET", "POST"])
def subscription_form(request: HttpRequest) -> HttpResponse:
    themes = list(Theme.objects.all())
    context: dict[str, Any] = {**_frame(request), "themes": themes, "purpose_text": newsletter.PURPOSE_TEXT,
                               "consent_version": newsletter.CONSENT_VERSION, "errors": {}, "email": "",
                               "chosen": set()}
    if request.method == "POST":
        email, slugs = request.POST.get("email", ""), request.POST.getlist("listes")
        context.update(email=email[:254], chosen=set(slugs))
        try:
            visitor = _profiles.current(request)  # this browser's profile, if its visitor consented
            newsletter.ask_subscription(email, slugs, newsletter.browser_mark(visitor.key) if visitor else "")
        except newsletter.Refused as exc:
            context["errors"] = {exc.field: str(exc)}
            return render(request, "assist/newsletter_subscribe.html", context, status=400)
        return HttpResponseRedirect(reverse("assist:newsletter_sent"))
    return render(request, "assist/newsletter_subscribe.html", context)


@require_GET
def sent(request: HttpRequest) -> HttpResponse:
    """The same answer for every address: a new one, one waiting, one already subscribed."""
    return render(request, "assist/newsletter_sent.html", {**_frame(request), "days": newsletter.CONFIRM_DAYS})


@require_GET
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = newsletter.subscriber_for("confirmation", token)
    except newsletter.BadToken:
        return _bad_link(request)
    subscriber = newsletter.confirm(request, subscriber, newsletter.confirmation_browser(token))
    if subscriber.status != Subscriber.ACTIVE:
        return _bad_link(request)
    return render(request, "assist/newsletter_confirmed.html", {
        **_frame(request), "preferences": reverse("assist:newsletter_preferences",
                                                  args=[newsletter.token("preferences", subscriber)])})


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = newsletter.subscriber_for("preferences", token)
    except newsletter.BadToken:
        return _bad_link(request)
    person = _session_person(request)
    errors: dict[str, str] = {}
    message = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "listes":
                newsletter.change_lists(subscriber, request.POST.getlist("listes"))
                message = "Vos listes sont enregistrées."
            elif action == "desabonner":
                newsletter.unsubscribe(subscriber)
                message = "Votre désabonnement est enregistré : vous ne recevrez plus la lettre."
            elif action == "supprimer":
                newsletter.delete(subscriber)
                return render(request, "assist/newsletter_deleted.html", _frame(request))
            elif action == "relier" and person is not None and subscriber.person_id is None:
                newsletter.link_person(subscriber, person)
                message = "Votre abonnement est relié à votre dossier."
            elif action == "delier" and subscriber.person_id is not None:
                newsletter.unlink(subscriber)
                message = "Le lien entre votre abonnement et votre dossier est annulé."
            else:
                errors["action"] = "Cette action n'est pas possible ici."
        except newsletter.Refused as exc:
            errors[exc.field] = str(exc)
        subscriber.refresh_from_db()
    context = {**_frame(request), "subscriber": subscriber, "themes": list(Theme.objects.all()),
               "chosen": {t.slug for t in subscriber.lists.all()}, "errors": errors, "message": message,
               "offer_link": person is not None and subscriber.person_id is None, "link_text": newsletter.LINK_TEXT,
               "purpose_text": newsletter.PURPOSE_TEXT}
    return render(request, "assist/newsletter_preferences.html", context, status=400 if errors else 200)


@csrf_exempt  # RFC 8058: the mail client posts `List-Unsubscribe=One-Click` without a session or a form token
@require_http_methods(["GET", "POST"])
def one_click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = newsletter.subscriber_for("desinscription", token)
    except newsletter.BadToken:
        return _bad_link(request)
    if request.method == "POST":
        newsletter.unsubscribe(subscriber)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(status=204)
        return render(request, "assist/newsletter_unsubscribed.html", _frame(request))
    return render(request, "assist/newsletter_unsubscribe.html", {**_frame(request), "subscriber": subscriber,
                                                                  "done": subscriber.status != Subscriber.ACTIVE})


@require_GET
def follow(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = newsletter.follow(token)
    except (newsletter.BadToken, newsletter.Refused):
        return _bad_link(request)
    return HttpResponseRedirect(target)


def _hours() -> str:
    return str(getattr(settings, "NEWSLETTER_HOURS", settings.QUIET_HOURS))


ROUTES: tuple[Route, ...] = (
    route("lettre/", subscription_form, SITE, "newsletter"),
    route("lettre/envoyee/", sent, SITE, "newsletter_sent"),
    route("lettre/confirmation/<str:token>/", confirm, SUBSCRIBER, "newsletter_confirm"),
    route("lettre/preferences/<str:token>/", preferences, SUBSCRIBER, "newsletter_preferences"),
    route("lettre/desinscription/<str:token>/", one_click, SUBSCRIBER, "newsletter_unsubscribe"),
    route("lettre/lien/<str:token>/", follow, SITE, "newsletter_link"),
)
LISTENERS: tuple[Listener, ...] = (Listener(("email_feedback",), newsletter.on_email_feedback),)
SENDING: tuple[Sending, ...] = (Sending(newsletter.PURPOSE, _hours, capped=True),)
