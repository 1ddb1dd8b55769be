"""The CMS (Wagtail) inside the platform: its admin opens to the agents working for `information` (the
platform's purposes decide who gets in, like any page), and those agents are made members of the editors' group
Wagtail's own permissions read (publish, snippets, documents, images) — decision 0009."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.http import HttpRequest, HttpResponse

EDITORS = "Rédaction du site"
SESSION_FLAG = "assist_editor"
# What the editors may do: the admin, pages (on the site's home and below), themes and audiences, documents, images
MODEL_PERMISSIONS = {
    "wagtailadmin": ["access_admin"],
    "assist": ["add_theme", "change_theme", "delete_theme", "view_theme", "add_audience", "change_audience",
               "view_audience"],
    "wagtaildocs": ["add_document", "change_document", "delete_document", "choose_document"],
    "wagtailimages": ["add_image", "change_image", "delete_image", "choose_image"],
}
PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "unlock_page", "lock_page", "delete_page"]


def native_date_widgets() -> None:
    """The CMS's date and date-time fields (a page's publication schedule, our page types' dates) as the browser's
    own inputs: Wagtail's calendar pickers start with an inline script each, which the platform's CSP (script
    nonces) blocks — decision 0010."""
    from django import forms
    from django.db import models
    from wagtail.admin.forms.models import register_form_field_override

    register_form_field_override(models.DateField, override={
        "widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")})
    register_form_field_override(models.DateTimeField, override={
        "widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")})


def editors_group() -> Group:
    """The group and its permissions, created once (idempotent)."""
    from wagtail.documents.models import Document
    from wagtail.images.models import Image
    from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission

    from proactif.assist import _site

    group, _ = Group.objects.get_or_create(name=EDITORS)
    with transaction.atomic():
        for app_label, codenames in MODEL_PERMISSIONS.items():
            found = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            group.permissions.add(*found)
        home = _site.home()
        for codename in PAGE_PERMISSIONS:
            permission = Permission.objects.filter(content_type__app_label="wagtailcore", codename=codename).first()
            if permission is not None:
                GroupPagePermission.objects.get_or_create(group=group, page=home, permission=permission)
        root = Collection.get_first_root_node()
        for model, codenames in ((Document, MODEL_PERMISSIONS["wagtaildocs"]),
                                 (Image, MODEL_PERMISSIONS["wagtailimages"])):
            for permission in Permission.objects.filter(content_type__app_label=model._meta.app_label,
                                                        codename__in=codenames):
                GroupCollectionPermission.objects.get_or_create(group=group, collection=root, permission=permission)
    return group


def as_editor(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A CMS view, run for an agent the access rule let in: they join the editors' group the first time in the
    session (the rule is what decides; the group only carries Wagtail's permissions)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.session.get(SESSION_FLAG):
            group = editors_group()
            if not user.groups.filter(pk=group.pk).exists():  # type: ignore[union-attr]
                user.groups.add(group)  # type: ignore[union-attr]
            request.session[SESSION_FLAG] = True
        return view(request, *args, **kwargs)

    return wrapped


def admin_patterns() -> list[Any]:
    from django.urls import URLPattern, URLResolver
    from wagtail.admin import urls as admin_urls

    def wrap(patterns: list[Any]) -> list[Any]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                wrap(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and not getattr(pattern.callback, "_assist_editor", False):
                pattern.callback = as_editor(pattern.callback)
                pattern.callback._assist_editor = True  # type: ignore[attr-defined]
        return patterns

    return wrap(list(admin_urls.urlpatterns))


def document_patterns() -> list[Any]:
    from wagtail.documents import urls as document_urls

    return list(document_urls.urlpatterns)


def page_patterns() -> list[Any]:
    """Wagtail's page-serving route, and in place of its front-end login (which would log agents in without the
    platform's throttling) a redirection to the platform's login page, and its password form — both reached only if
    a restricted page existed: the site's pages offer no restriction (`SitePage.private_page_options`)."""
    from django.urls import path, re_path
    from wagtail import views
    from wagtail.urls import serve_pattern

    return [path("_util/login/", to_platform_login, name="wagtailcore_login"),
            path("_util/authenticate_with_password/<id:page_view_restriction_id>/<id:page_id>/",
                 views.authenticate_with_password, name="wagtailcore_authenticate_with_password"),
            re_path(serve_pattern, views.serve, name="wagtail_serve")]


def to_platform_login(request: HttpRequest) -> HttpResponse:
    from django.conf import settings
    from django.contrib.auth.views import redirect_to_login
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.GET.get("next", "/site/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/site/"
    return redirect_to_login(target, settings.LOGIN_URL)
