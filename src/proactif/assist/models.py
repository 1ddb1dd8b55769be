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


# --- personalisation (opt-in), newsletters, identity -------------------------------------------------------------
# A profile exists only for a visitor who accepted « personnalisation »: it is created under their consent
# identifier, carried by a first-party cookie (13 months at most) as a random key, and names no one until the
# visitor subscribes to a newsletter (the profile then belongs to the subscriber) — and a registry person only if
# the subscriber links themself, on an explicit opt-in kept in the registry's consent ledger.
class Profile(models.Model):
    """A consenting visitor's interests. `interests` are the inferred ones, theme slug → [score, as of (epoch
    seconds)], decayed when read (`_interests.decayed`); `chosen` the visitor's explicit choices, theme slug → true
    (shown first) or false (never shown first), above anything inferred; `answers` the progressive profiling's,
    question → {"value", "consent", "at"} each with the consent text it was given under. A merged anonymous profile
    keeps its row as an alias: `merged_into` the profile it now reads as."""

    key = models.CharField(max_length=32, unique=True)  # random, the cookie's value; never shown to agents
    consent_id = models.CharField(max_length=32, db_index=True)
    created_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)  # the cookie and the profile lapse 13 months after this
    interests = models.JSONField(default=dict)
    chosen = models.JSONField(default=dict)
    answers = models.JSONField(default=dict)
    events = models.PositiveIntegerField(default=0)
    frozen = models.BooleanField(default=False)  # consent withdrawn: nothing more is recorded or inferred
    subscriber = models.ForeignKey("Subscriber", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="profiles")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="aliases")


class ProfileEvent(models.Model):
    """One first-party event of a consenting visitor (page view, search, click, download, form), kept 25 months.
    Only the theme and the page: never the query's words, the address or the browser."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=16)  # page_vue | recherche | clic | telechargement | formulaire
    theme = models.CharField(max_length=60, blank=True)
    page_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["profile", "at"], name="assist_event_profile_at")]


class ProfileMerge(models.Model):
    """An anonymous profile merged into a subscriber's, server-side: what the target held before (`before`), so
    that the merge can be undone, and who did it. Audited."""

    source = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    before = models.JSONField(default=dict)
    merged_at = models.DateTimeField()
    reason = models.CharField(max_length=80)
    undone_at = models.DateTimeField(null=True, blank=True)


class ProfilePseudonym(models.Model):
    """The name another site of the collectivité knows a profile by: one per (site, profile), random, so two sites
    cannot join what they know."""

    site = models.CharField(max_length=40)
    pseudonym = models.CharField(max_length=40)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "pseudonym"], name="assist_pseudonym_unique"),
                       models.UniqueConstraint(fields=["site", "profile"], name="assist_pseudonym_profile")]


class Segment(models.Model):
    """A group of profiles agents define by rules over the profile and its events (« parent d'un jeune enfant »).
    `rules` is a list of conditions all met (`_interests.matches`). A segment that would imply `sante` or `handicap`
    reads only what visitors chose, never what was inferred."""

    slug = models.SlugField("identifiant", max_length=60, unique=True)
    name = models.CharField("nom", max_length=100)
    description = models.TextField("description", blank=True)
    rules = models.JSONField(default=list)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]


class BlockStat(models.Model):
    """Personalisation measured: blocks shown and clicked per day, page, group (control or personalised) and
    block — counts only."""

    day = models.DateField()
    surface = models.CharField(max_length=80)  # home | theme:<slug>
    group = models.CharField(max_length=12)  # controle | personnalise
    block = models.CharField(max_length=80)  # the theme slug or page id of the block
    shown = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "surface", "group", "block"],
                                               name="assist_blockstat_unique")]


class Subscriber(models.Model):
    """A newsletter subscriber: an address confirmed by double opt-in, the theme lists they chose. Sending stops
    after 1 hard bounce, 3 soft ones or 1 complaint (`status` « arrete »)."""

    PENDING, ACTIVE, UNSUBSCRIBED, STOPPED = "en_attente", "actif", "desabonne", "arrete"
    email = models.CharField(max_length=254, unique=True)
    status = models.CharField(max_length=12, default=PENDING, db_index=True)
    lists = models.ManyToManyField(Theme, blank=True, related_name="+")
    consent_version = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=200, blank=True)
    soft_bounces = models.PositiveSmallIntegerField(default=0)
    hard_bounces = models.PositiveSmallIntegerField(default=0)
    complaints = models.PositiveSmallIntegerField(default=0)
    person_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # registry link, on explicit opt-in
    linked_at = models.DateTimeField(null=True, blank=True)


class Edition(models.Model):
    """A newsletter edition agents compose from published pages, for the subscribers of its lists."""

    DRAFT, SENT = "brouillon", "envoyee"
    title = models.CharField("titre", max_length=150)
    intro = models.TextField("introduction", blank=True)
    lists = models.ManyToManyField(Theme, blank=True, related_name="+")
    status = models.CharField(max_length=12, default=DRAFT)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)


class EditionBlock(models.Model):
    """One published page in an edition; its clicks counted through the signed redirect, not per reader."""

    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="blocks")
    page_id = models.BigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["edition", "page_id"], name="assist_edition_block_unique")]
