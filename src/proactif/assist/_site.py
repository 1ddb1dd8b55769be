"""The site's tree and content: the home and its sections, the default themes and audiences, the demo content of
the synthetic commune, and the search index kept in step with what is published."""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import connection, transaction
from wagtail.models import Page, Site

from proactif.assist import _classify, _search
from proactif.assist.models import (
    ActualitePage,
    Audience,
    ContentPage,
    DemarchePage,
    EvenementPage,
    HomePage,
    SearchEntry,
    SectionPage,
    Theme,
)
from proactif.kernel import clock
from proactif.kernel.logging import get_logger

log = get_logger(__name__)
DEMO = Path(__file__).parent / "demo"
AUDIENCES = {"tous": "Tout public", "familles": "Familles", "jeunes": "Jeunes", "seniors": "Seniors",
             "handicap": "Personnes en situation de handicap", "entreprises": "Entreprises et commerces",
             "associations": "Associations", "nouveaux-habitants": "Nouveaux habitants"}
# kind → (section slug, title, introduction, page model)
SECTIONS: dict[str, tuple[str, str, str, type[ContentPage]]] = {
    "demarche": ("demarches", "Démarches", "Les démarches auprès de la mairie et de ses services, pas à pas.",
                 DemarchePage),
    "actualite": ("actualites", "Actualités", "Les nouvelles de la ville et de ses services.", ActualitePage),
    "evenement": ("agenda", "Agenda", "Les rendez-vous des semaines à venir.", EvenementPage),
}
KIND_OF = {model: kind for kind, (_, _, _, model) in SECTIONS.items()}


# --- the tree ------------------------------------------------------------------------------------------------
def install() -> None:
    """The default themes and audiences, the home and its three sections: idempotent, after the migrations."""
    if not Theme.objects.exists():
        Theme.objects.bulk_create([
            Theme(slug=t.slug, name=t.name, description=t.description, keywords="\n".join(t.keywords),
                  months=",".join(str(m) for m in t.months), position=position)
            for position, t in enumerate(_classify.default_themes())])
    for slug, name in AUDIENCES.items():
        Audience.objects.get_or_create(slug=slug, defaults={"name": name})
    home()


def home() -> HomePage:
    """The site's home page, created under Wagtail's root (and made the default site's root) when missing."""
    found = HomePage.objects.first()
    if found is not None:
        return found
    with transaction.atomic():
        root = Page.get_first_root_node() or _wagtail_tree()
        welcome = [p for p in root.get_children() if p.specific_class is Page and p.numchild == 0]
        page = root.add_child(instance=HomePage(
            title=settings.COLLECTIVITE_NAME, slug="accueil",
            intro="Vos démarches, l'actualité et l'agenda de la commune, au même endroit."))
        for _kind, (slug, title, intro, _model) in SECTIONS.items():
            page.add_child(instance=SectionPage(title=title, slug=slug, intro=intro))
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            Site.objects.create(hostname="localhost", port=80, root_page=page, is_default_site=True,
                                site_name=settings.COLLECTIVITE_NAME)
        else:
            site.root_page = page
            site.site_name = settings.COLLECTIVITE_NAME
            site.save()
        for old in welcome:  # Wagtail's « Welcome to your new Wagtail site! »
            old.delete()
    return page


def _wagtail_tree() -> Page:
    """Wagtail's root page, default locale and root collection, as its migrations create them: made again when a
    database was emptied table by table (a flush) rather than migrated."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import Collection, Locale

    if not Locale.objects.exists():
        Locale.objects.create(language_code=settings.LANGUAGE_CODE)
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")
    return Page.add_root(instance=Page(title="Root", slug="root", content_type=ContentType.objects.get_for_model(Page),
                                       locale=Locale.objects.first()))


def section(kind: str) -> SectionPage:
    slug = SECTIONS[kind][0]
    return SectionPage.objects.child_of(home()).get(slug=slug)


# --- the demo content ----------------------------------------------------------------------------------------
LINK = re.compile(r"\[([^\]]+)\]\(((?:/|https://)[^)\s]*)\)")


def markup_to_html(text: str, urls: dict[str, str] | None = None) -> str:
    """The demo files' light markup (paragraphs, « ## » subheadings, « - » lists, [label](url) links) as the
    rich text the CMS stores; a link to `/site/<slug>/` goes to that page's address (`urls`: slug → address)."""
    urls = urls or {}
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("## "):
            blocks.append(f"<h2>{_inline(lines[0][3:], urls)}</h2>")
            lines = lines[1:]
            if not lines:
                continue
        if all(line.startswith("- ") for line in lines):
            blocks.append("<ul>" + "".join(f"<li>{_inline(line[2:], urls)}</li>" for line in lines) + "</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(lines), urls)}</p>")
    return "".join(blocks)


def _inline(text: str, urls: dict[str, str]) -> str:
    """Text with its links; the typographic apostrophe set here, since the page's typesetting cannot see an
    elision across a tag (« l'<a>école</a> »)."""
    def words(part: str) -> str:
        return html.escape(part, quote=False).replace("'", "’")

    out, last = [], 0
    for match in LINK.finditer(text):
        target = match.group(2)
        target = urls.get(target.removeprefix("/site/").strip("/"), target) if target.startswith("/site/") else target
        out += [words(text[last:match.start()]), f'<a href="{html.escape(target)}">{words(match.group(1))}</a>']
        last = match.end()
    return "".join([*out, words(text[last:])])


def demo_files(pattern: str) -> list[dict[str, Any]]:
    """The entries of the demo files matching `pattern` (`pages-*.yaml`, `queries-*.yaml`), in file order."""
    found: list[dict[str, Any]] = []
    for path in sorted(DEMO.glob(pattern)):
        found.extend(yaml.safe_load(path.read_text(encoding="utf-8")) or [])
    return found


def demo_pages() -> list[dict[str, Any]]:
    return demo_files("pages-*.yaml")


def seed_demo(today: date | None = None) -> dict[str, int]:
    """Publish the synthetic commune's site (the files of `assist/demo/`), dates counted from `today`: the pages
    already there (by slug) are left as agents may have changed them."""
    today = today or clock.today()
    install()
    themes = {t.slug: t for t in Theme.objects.all()}
    audiences = {a.slug: a for a in Audience.objects.all()}
    existing = set(Page.objects.values_list("slug", flat=True))
    specs = demo_pages()
    section_urls = {kind: section(kind).url for kind in SECTIONS}
    urls = {spec["slug"]: f"{section_urls[spec['kind']]}{spec['slug']}/" for spec in specs}
    created = 0
    for spec in specs:
        if spec["slug"] in existing:
            continue
        _publish(spec, today, themes, audiences, urls)
        created += 1
    return {"pages_created": created, "pages": SearchEntry.objects.count()}


def _publish(spec: dict[str, Any], today: date, themes: dict[str, Theme], audiences: dict[str, Audience],
             urls: dict[str, str]) -> None:
    kind = spec["kind"]
    fields: dict[str, Any] = {"title": spec["title"], "slug": spec["slug"], "summary": spec["summary"],
                              "body": markup_to_html(spec["body"], urls),
                              "keywords": ", ".join(spec.get("keywords", []))}
    if kind == "demarche":
        fields["deadline"] = spec.get("deadline", "")
        fields["months"] = ",".join(str(m) for m in spec.get("months", []))
    elif kind == "actualite":
        fields["date"] = today + timedelta(days=int(spec.get("date", 0)))
    else:
        fields["starts"] = today + timedelta(days=int(spec.get("date", 1)))
        if spec.get("end") is not None:
            fields["ends"] = today + timedelta(days=int(spec["end"]))
        fields["place"] = spec.get("place", "")
    with transaction.atomic():
        page = SECTIONS[kind][3](**fields)
        page.themes = [themes[slug] for slug in spec["themes"] if slug in themes]
        page.audiences = [audiences[slug] for slug in spec.get("audience", []) if slug in audiences]
        section(kind).add_child(instance=page)
        page.save_revision().publish()


# --- the live pages, kept per process ------------------------------------------------------------------------
# Every page of the site orders the live content pages (about 140 of them, their themes prefetched): read from the
# database at every request, they cost most of a home page's time. Each process keeps them and reads them again
# when the site changes: in this process the signals say so at once (`forget_live_pages`); a change made by another
# process (another web worker, the CMS) is seen by `_version()` — each publication writes a revision whose id only
# grows, an unpublication or a deletion lowers the live count, a restriction changes their count — checked at
# every request for a fraction of a millisecond; and nothing is kept longer than `LIVE_PAGES_TTL` seconds anyway
# (a page moved in the tree, a theme renamed in another process).
LIVE_PAGES_TTL = 300.0
_live: dict[str, Any] = {}
_live_lock = threading.Lock()


def _version() -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT max(id) FROM wagtailcore_revision), "
                       "(SELECT count(*) FROM wagtailcore_page WHERE live), "
                       "(SELECT count(*) FROM wagtailcore_pageviewrestriction)")
        return (connection.settings_dict["NAME"], *cursor.fetchone())


def live_pages() -> list[ContentPage]:
    """The live, public content pages in tree order, their themes prefetched (shared: read them, never change
    them)."""
    version = _version()
    with _live_lock:
        kept = _live.get("pages")
        if kept is not None and kept[0] == version and time.monotonic() - kept[1] < LIVE_PAGES_TTL:
            return kept[2]  # type: ignore[no-any-return]
    pages: list[ContentPage] = []
    for model in (DemarchePage, ActualitePage, EvenementPage):
        pages.extend(model.objects.live().public().prefetch_related("themes").order_by("path"))
    with _live_lock:
        _live["pages"] = (version, time.monotonic(), pages)
    return pages


def forget_live_pages() -> None:
    with _live_lock:
        _live.clear()


# --- the search index ----------------------------------------------------------------------------------------
def index_pages(page_ids: list[int]) -> None:
    """(Re)write the search rows of these pages when they are live content pages; drop the others'."""
    forget_live_pages()
    entries, gone = [], []
    public = set(Page.objects.filter(pk__in=page_ids).public().values_list("pk", flat=True))
    for page in Page.objects.filter(pk__in=page_ids).specific():
        if not isinstance(page, ContentPage) or not page.live or page.pk not in public:
            gone.append(page.pk)
            continue
        entries.append(entry_for(page))
    for entry in entries:
        entry.save()
    if entries:
        _search.index(entries)
    if gone:
        unindex_pages(gone)


def entry_for(page: ContentPage) -> SearchEntry:
    kind = KIND_OF[type(page)]
    day = getattr(page, "date", None) or getattr(page, "starts", None)
    return SearchEntry(page_id=page.pk, url=page.url or "", kind=kind, title=page.title, summary=page.summary,
                       body=plain_text(str(page.body)), keywords=page.keywords,
                       themes=" ".join(t.slug for t in page.themes.all()), date=day, updated_at=clock.now())


def unindex_pages(page_ids: list[int]) -> None:
    forget_live_pages()
    _search.remove(page_ids)
    SearchEntry.objects.filter(page_id__in=page_ids).delete()


def plain_text(rich: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rich))).strip()


def reindex_all() -> int:
    """Every live content page's row written again and the full-text index rebuilt from the rows (after an
    upgrade of the analysis, or of the page types)."""
    ids = [p.pk for p in Page.objects.live().public().type(*KIND_OF).only("pk")]
    SearchEntry.objects.exclude(page_id__in=ids).delete()
    for start in range(0, len(ids), 200):
        for page in Page.objects.filter(pk__in=ids[start:start + 200]).specific():
            entry_for(page).save()  # type: ignore[arg-type]
    _search.rebuild()
    return len(ids)
