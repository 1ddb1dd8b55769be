"""The public website's tables: themes and audiences (agents keep them), the page types agents write in the
CMS, the search index's rows, the visitors' consent proofs and the anonymous audience counts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from proactif.kernel import clock


class Theme(models.Model):
    """A theme of the site (« Famille et enfance »…). The query classifier reads its name, description and
    keywords: agents tune them here."""

    slug = models.SlugField("identifiant", max_length=60, unique=True)
    name = models.CharField("nom", max_length=80)
    description = models.TextField("description", blank=True,
                                   help_text="Une ou deux phrases : ce que les habitants y trouvent.")
    keywords = models.TextField("mots-clés", blank=True,
                                help_text="Un mot-clé ou une expression par ligne, comme les habitants l'écrivent.")
    months = models.CharField("mois de forte demande", max_length=40, blank=True,
                              help_text="Numéros des mois séparés par des virgules (6,7,8 pour l'été).")
    position = models.PositiveSmallIntegerField("ordre", default=0)

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description"), FieldPanel("keywords"),
              FieldPanel("months"), FieldPanel("position")]

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "thème"

    def __str__(self) -> str:
        return self.name

    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    def month_list(self) -> list[int]:
        return [int(part) for part in self.months.replace(" ", "").split(",") if part.isdigit()]


class Audience(models.Model):
    """Who a page is for (« Familles », « Seniors »…)."""

    slug = models.SlugField("identifiant", max_length=40, unique=True)
    name = models.CharField("nom", max_length=60)

    class Meta:
        ordering = ["name"]
        verbose_name = "public"

    def __str__(self) -> str:
        return self.name


class SitePage(Page):
    """What every page of the public site does when served: count the view for the exempt audience
    measurement (no cookie, no address), and give its template the site's frame."""

    # A public website: no page behind a password or a login (the privacy panel offers « public » only); what is
    # for agents lives in the platform, under its own access rules
    private_page_options: list[str] = []

    class Meta:
        abstract = True

    def serve(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        from django.http import HttpResponseNotAllowed

        from proactif.assist import services

        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        services.count(self.url or request.path)
        return super().serve(request, *args, **kwargs)

    def get_context(self, request: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from proactif.assist import services

        context = super().get_context(request, *args, **kwargs)
        context.update(services.page_context(request, self))
        return context


class HomePage(SitePage):
    """The site's home: the collectivité's welcome and the blocks of what matters now."""

    template = "assist/home_page.html"
    intro = models.TextField("accroche", blank=True)
    content_panels = [*Page.content_panels, FieldPanel("intro")]
    subpage_types = ["assist.SectionPage"]
    max_count = 1

    class Meta:
        verbose_name = "page d'accueil"


class SectionPage(SitePage):
    """A section of the site (« Démarches », « Actualités », « Agenda »), listing its pages."""

    template = "assist/section_page.html"

    intro = models.TextField("introduction", blank=True)
    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["assist.HomePage"]
    subpage_types = ["assist.DemarchePage", "assist.ActualitePage", "assist.EvenementPage"]

    class Meta:
        verbose_name = "rubrique"


CHECKBOXES = forms.CheckboxSelectMultiple


class ContentPage(SitePage):
    """What every page a resident reads has: a summary, a body, themes, audiences and search keywords."""

    template = "assist/content_page.html"

    summary = models.CharField("résumé", max_length=255,
                               help_text="Une phrase : elle s'affiche dans les listes et les résultats de recherche.")
    body = RichTextField("texte", features=["h2", "h3", "bold", "italic", "ol", "ul", "link"])
    themes = ParentalManyToManyField(Theme, verbose_name="thèmes", related_name="+")
    audiences = ParentalManyToManyField(Audience, verbose_name="publics", related_name="+", blank=True)
    keywords = models.CharField("mots-clés de recherche", max_length=255, blank=True,
                                help_text="Séparés par des virgules : les mots que les habitants tapent.")

    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    content_panels = [
        *Page.content_panels, FieldPanel("summary"), FieldPanel("body"),
        MultiFieldPanel([FieldPanel("themes", widget=CHECKBOXES), FieldPanel("audiences", widget=CHECKBOXES),
                         FieldPanel("keywords")], heading="Classement"),
    ]
    parent_page_types = ["assist.SectionPage"]
    subpage_types: list[str] = []

    class Meta:
        abstract = True


class DemarchePage(ContentPage):
    template = "assist/content_page.html"
    deadline = models.CharField("échéance", max_length=120, blank=True,
                                help_text="Par exemple « 6 février 2027 » : elle remonte la page à l'approche.")
    deadline_date = models.DateField("date de l'échéance", null=True, blank=True)
    months = models.CharField("mois de forte demande", max_length=40, blank=True,
                              help_text="Numéros des mois séparés par des virgules.")
    content_panels = [*ContentPage.content_panels, FieldPanel("deadline"),
                      FieldPanel("deadline_date"),
                      FieldPanel("months")]

    class Meta:
        verbose_name = "démarche"


class ActualitePage(ContentPage):
    template = "assist/content_page.html"
    date = models.DateField("date de publication")
    content_panels = [*ContentPage.content_panels, FieldPanel("date")]

    class Meta:
        verbose_name = "actualité"


class EvenementPage(ContentPage):
    template = "assist/content_page.html"
    starts = models.DateField("premier jour")
    ends = models.DateField("dernier jour", null=True, blank=True)
    place = models.CharField("lieu", max_length=200, blank=True)
    content_panels = [*ContentPage.content_panels, FieldPanel("starts"),
                      FieldPanel("ends"), FieldPanel("place")]

    class Meta:
        verbose_name = "événement"


class SearchEntry(models.Model):
    """One published page as the site's search reads it (kept by `_signals` on publish and unpublish). The
    full-text structures over it (FTS5 on SQLite, a `french_unaccent` tsvector and trigram vocabulary on
    PostgreSQL) are maintained by `_search`."""

    page_id = models.BigIntegerField(primary_key=True)
    url = models.CharField(max_length=500)
    kind = models.CharField(max_length=20)
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)
    keywords = models.TextField(blank=True)
    themes = models.CharField(max_length=500, blank=True)  # theme slugs, space-separated
    date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)


class ConsentProof(models.Model):
    """A visitor's cookie choice as the CNIL asks it to be proven: what was asked (the banner's version), what
    was answered for each purpose, when — under a random identifier that the visitor's cookie carries and that
    names no one. No address, no browser fingerprint."""

    consent_id = models.CharField(max_length=32, db_index=True)
    version = models.CharField(max_length=20)
    choices = models.JSONField()
    decided_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["decided_at"])]


class AudienceCount(models.Model):
    """The exempt audience measurement: counts by day and page, nothing that tells one visitor from another."""

    day = models.DateField()
    path = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, default="page_vue")  # page_vue | recherche
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "path", "kind"], name="assist_audience_unique")]
