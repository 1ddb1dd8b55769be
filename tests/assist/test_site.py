"""The public website as residents and editors use it: the tree and its install, the demo content, the search
index following publication, the order by context and by chosen interests, consent with its proof, the anonymous
audience, and who gets into the CMS."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from wagtail.models import Page, Site

from proactif.assist import _audience, _cms, _consent, _site, services
from proactif.assist.models import (
    AudienceCount,
    ConsentProof,
    ContentPage,
    DemarchePage,
    HomePage,
    SearchEntry,
    SectionPage,
    Theme,
)
from proactif.kernel import capabilities, clock
from proactif.kernel.capabilities import Notice
from tests.conftest import fr
from tests.web.test_pages import logged_in

pytestmark = pytest.mark.django_db
THEMES = {"etat-civil-papiers", "famille-enfance", "education-jeunesse", "solidarite", "seniors", "handicap",
          "logement", "sante", "emploi-entreprises", "dechets-proprete", "deplacements-stationnement",
          "urbanisme-travaux", "culture-loisirs", "sport", "securite-prevention", "environnement",
          "impots-paiements", "vie-associative-citoyenne"}


def test_the_install_makes_one_home_three_sections_and_the_default_themes_and_is_idempotent() -> None:
    services.install()
    services.install()
    assert HomePage.objects.count() == 1
    home = HomePage.objects.get()
    assert [s.slug for s in SectionPage.objects.child_of(home).order_by("path")] == ["demarches", "actualites",
                                                                                     "agenda"]
    assert set(Theme.objects.values_list("slug", flat=True)) == THEMES
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk
    assert not Page.objects.filter(depth=2).exclude(pk=home.pk).exists()  # Wagtail's welcome page is gone


def test_the_demo_site_has_over_a_hundred_pages_on_every_theme_all_indexed_once() -> None:
    pages = [p for p in Page.objects.live().specific() if isinstance(p, ContentPage)]
    assert len(pages) >= 100
    assert {t.slug for p in pages for t in p.themes.all()} == THEMES
    assert SearchEntry.objects.count() == len(pages)
    assert services.seed_demo() == {"pages_created": 0, "pages": len(pages)}  # a second run adds nothing
    kinds = {_site.KIND_OF[type(p)] for p in pages}
    assert kinds == {"demarche", "actualite", "evenement"}


def test_the_light_markup_becomes_the_cms_rich_text_escaped() -> None:
    assert _site.markup_to_html("## Titre\n\nUn <b>texte</b> [lien](/site/x/).\n\n- un\n- deux") == (
        '<h2>Titre</h2><p>Un &lt;b&gt;texte&lt;/b&gt; <a href="/site/x/">lien</a>.</p>'
        '<ul><li>un</li><li>deux</li></ul>')
    assert _site.markup_to_html("l'[école](/site/e/)") == '<p>l’<a href="/site/e/">école</a></p>'
    assert "href" not in _site.markup_to_html("[x](javascript:alert(1))")  # only internal or https links


def test_a_page_published_is_found_unpublished_is_not() -> None:
    section = _site.section("demarche")
    page = DemarchePage(title="Permis de végétaliser les trottoirs", slug="permis-vegetaliser",
                        summary="Fleurir le pied de votre immeuble.", body="<p>Demandez le permis en mairie.</p>")
    page.themes = [Theme.objects.get(slug="environnement")]
    section.add_child(instance=page)
    assert all(h.page_id != page.pk for h in services.search("végétaliser")["hits"])  # a draft is not found
    page.save_revision().publish()
    assert SearchEntry.objects.filter(page_id=page.pk).exists()
    assert services.search("vegetaliser trotoirs")["hits"][0].page_id == page.pk  # accents, a typo
    page.unpublish()
    assert not SearchEntry.objects.filter(page_id=page.pk).exists()
    assert all(h.page_id != page.pk for h in services.search("végétaliser trottoirs")["hits"])


def test_every_public_page_is_served_and_counted_without_anything_that_identifies_the_visitor() -> None:
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Navigateur-unique/1.0")
    page = DemarchePage.objects.live().first()
    before = _audience.total(path=page.url)
    for url in ["/site/", "/site/demarches/", "/site/actualites/", "/site/agenda/", page.url,
                "/site/themes/sport/", "/site/recherche/?q=piscine", "/site/cookies/", "/site/mes-centres-d-interet/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "fr-consent-banner" in response.content.decode(), url  # no choice yet: the banner on every page
        assert set(response.cookies) <= {"csrftoken"}, url  # before a choice: only the forms' CSRF cookie
    assert _audience.total(path=page.url) == before + 1
    assert {f.name for f in AudienceCount._meta.get_fields()} == {"id", "day", "path", "kind", "count"}
    stored = " ".join(str(v) for row in AudienceCount.objects.values_list() for v in row)
    assert "203.0.113.9" not in stored and "Navigateur" not in stored and "piscine" not in stored
    assert AudienceCount.objects.filter(kind="recherche", path="theme:sport").exists()


def test_the_home_orders_themes_by_context_then_by_the_visitors_own_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    def tiles(client: Client) -> list[str]:
        return re.findall(r'data-theme="([a-z-]+)"', client.get("/site/").content.decode())

    client = Client()
    default = tiles(client)
    assert sorted(default) == sorted(THEMES)
    monkeypatch.setattr(capabilities, "public_notices", lambda: [Notice(
        "Coupure d'eau — quartier de la Gare", "L'eau est coupée jusqu'à 18 h.", "/alertes/flux.atom",
        clock.now(), "securite-prevention")])
    with_alert = tiles(client)
    assert with_alert[0] == "securite-prevention"
    assert "Coupure d" in client.get("/site/").content.decode()
    response = client.post("/site/mes-centres-d-interet/", {"themes": ["sport", "inconnu", "logement"]})
    assert response.status_code == 302
    assert response.cookies[services.INTERESTS_COOKIE].value == "sport.logement"  # unknown slugs dropped
    assert tiles(client)[:2] == ["logement", "sport"] or tiles(client)[:2] == ["sport", "logement"]
    client.post("/site/mes-centres-d-interet/oublier/")
    assert tiles(client)[0] == "securite-prevention"


def test_consent_is_recorded_with_its_proof_refused_by_default_and_asked_again_after_six_months() -> None:
    start = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    client = Client()
    with clock.use(clock.FixedClock(start)):
        response = client.post("/site/cookies/", {"tout": "refuser", "next": "/site/agenda/"})
        assert response.status_code == 302 and response["Location"] == "/site/agenda/"
        proof = ConsentProof.objects.latest("pk")
        assert proof.choices == {"personnalisation": False} and proof.version == _consent.VERSION
        assert proof.expires_at == start + _consent.VALIDITY
        assert "fr-consent-banner" not in client.get("/site/").content.decode()
        # the modal's form: one field per purpose; a purpose not answered is refused
        client.post("/site/cookies/", {"personnalisation": "oui"}, HTTP_X_REQUESTED_WITH="fetch")
        assert ConsentProof.objects.latest("pk").choices == {"personnalisation": True}
        client.post("/site/cookies/", {})
        assert ConsentProof.objects.latest("pk").choices == {"personnalisation": False}
    with clock.use(clock.FixedClock(start + _consent.VALIDITY + timedelta(days=1))):
        assert "fr-consent-banner" in client.get("/site/").content.decode()  # asked again
        client.post("/site/cookies/", {"tout": "accepter"})
        latest = ConsentProof.objects.latest("pk")
    history = ConsentProof.objects.filter(consent_id=proof.consent_id).order_by("pk")
    assert [p.choices["personnalisation"] for p in history] == [False, True, False, True]  # all kept
    assert latest.consent_id == proof.consent_id


def test_a_forged_or_outdated_consent_cookie_means_no_choice() -> None:
    client = Client()
    client.post("/site/cookies/", {"tout": "accepter"})
    proof = ConsentProof.objects.latest("pk")
    client.cookies[_consent.COOKIE] = client.cookies[_consent.COOKIE].value[:-2] + "xx"
    assert "fr-consent-banner" in client.get("/site/").content.decode()
    ConsentProof.objects.filter(pk=proof.pk).update(version="2020-01")
    assert _consent._read(_consent.signing.dumps([proof.consent_id, proof.pk], salt=_consent.SALT)) is None


def test_the_cms_opens_to_the_communication_service_only(agents: dict) -> None:
    assert Client().get("/cms/")["Location"].startswith("/connexion/")
    for who in ("etat_civil", "police", "dpo", "admin"):
        assert logged_in(Client(), who).get("/cms/").status_code == 403, who
    editor = logged_in(Client(), "communication")
    assert editor.get("/cms/").status_code == 200
    assert agents["communication"].groups.filter(name=_cms.EDITORS).exists()
    assert editor.get(f"/cms/pages/{_site.section('demarche').pk}/").status_code == 200
    assert editor.get("/redaction/").status_code == 200
    assert logged_in(Client(), "etat_civil").get("/redaction/").status_code == 403
    group = Group.objects.get(name=_cms.EDITORS)
    assert group.permissions.filter(codename="access_admin").exists()


def test_the_editors_page_shows_totals_only(agents: dict) -> None:
    Client().get("/site/agenda/")
    figures = services.editorial_figures()
    assert figures["published"] >= 100 and figures["views"] >= 1
    page = logged_in(Client(), "communication").get("/redaction/").content.decode()
    assert fr("pages publiées") in page and "Agenda" in page


def test_a_search_is_classified_and_its_words_are_never_stored() -> None:
    found = services.search("inscription à la crèche")
    assert found["theme"].slug == "famille-enfance"
    assert found["hits"] and "famille-enfance" in found["hits"][0].themes
    assert not AudienceCount.objects.filter(path__icontains="crèche").exists()


def test_what_is_current_goes_on_the_home_past_events_do_not() -> None:
    data = services.home_data(Client().get("/site/").wsgi_request)
    today = clock.today()
    for card in data["now"]:
        if card.kind == "evenement":
            assert (card.page.ends or card.page.starts) >= today
        else:
            assert date(2000, 1, 1) < card.page.date <= today


def test_every_link_in_the_sites_pages_leads_somewhere() -> None:
    """Links between pages are written /site/<slug>/ in the demo files and published at the page's address."""
    client = Client()
    targets = set()
    for page in Page.objects.live().specific():
        if isinstance(page, ContentPage):
            targets |= set(re.findall(r'href="(/[^"]*)"', str(page.body)))
    assert len(targets) > 50
    broken = {url: client.get(url).status_code for url in sorted(targets)}
    # the titres portal asks for a resident's signed link (403 with the page saying so): it exists
    assert {url: code for url, code in broken.items() if code not in (200, 403)} == {}
    assert all(code == 200 for url, code in broken.items() if url.startswith("/site/"))


def test_a_deleted_page_leaves_the_index_and_other_tables_keep_their_fast_delete() -> None:
    from django.db.models.signals import post_delete

    from proactif.registry.models import Person

    page = DemarchePage.objects.live().order_by("path").last()
    assert SearchEntry.objects.filter(page_id=page.pk).exists()
    page.delete()
    assert not SearchEntry.objects.filter(page_id=page.pk).exists()
    # the site listens to its own page types only: a purge of another table stays one DELETE, no row loaded
    assert not post_delete.has_listeners(Person) and not post_delete.has_listeners(AudienceCount)


def test_the_nightly_retention_purges_lapsed_proofs_and_old_audience_counts_only() -> None:
    now = clock.now()
    old = ConsentProof.objects.create(consent_id="a" * 32, version=_consent.VERSION, choices={},
                                      decided_at=now - timedelta(days=2200), expires_at=now - timedelta(days=1900))
    kept = ConsentProof.objects.create(consent_id="b" * 32, version=_consent.VERSION, choices={},
                                       decided_at=now - timedelta(days=400), expires_at=now - timedelta(days=200))
    AudienceCount.objects.create(day=clock.today() - timedelta(days=800), path="/site/vieux/", count=3)
    AudienceCount.objects.create(day=clock.today() - timedelta(days=700), path="/site/recent/", count=3)
    from proactif.audit import tasks

    figures = tasks.retention_purge()["site"]  # the platform's nightly purge runs the site's retention
    assert (figures["preuves_de_consentement"], figures["mesures_d_audience"]) == (1, 1)
    assert not ConsentProof.objects.filter(pk=old.pk).exists() and ConsentProof.objects.filter(pk=kept.pk).exists()
    assert list(AudienceCount.objects.filter(path__in=["/site/vieux/", "/site/recent/"]).values_list(
        "path", flat=True)) == ["/site/recent/"]
