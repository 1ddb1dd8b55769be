"""The public site (issue 19) under attack and in careless hands: forged or replayed consent cookies, open
redirects, CSRF, methods, hostile cookies, slugs, queries and ids, the CMS's doors for every kind of agent and key,
Wagtail's front-end forms, documents, what the audience counter keeps, and the `classify` command's hostile files.
Every case answers a clear 4xx (or a one-line CLI error), never a 500, a traceback or a half-written row."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.core import signing
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

BIG = 2**63  # one past SQLite's and PostgreSQL's largest bigint
HOME = "/site/"


@pytest.fixture
def site(db: None) -> None:
    from proactif.assist import services

    services.seed_demo()


@pytest.fixture
def web() -> Client:
    """A visitor's browser whose server errors come back as responses (a 500 is a failure to assert, not a raise)."""
    return Client(raise_request_exception=False)


def browser() -> Client:
    """A browser as the site meets it: CSRF enforced."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


def csrf_token(client: Client, url: str = HOME) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(url).content.decode())
    assert found, f"no CSRF token in the form of {url}"
    return found.group(1)


def agent(who: str) -> Client:
    client = Client(raise_request_exception=False)
    response = client.post(reverse("accounts:login"), {"email": f"{who}@test.proactif.fr", "password": PASSWORD})
    assert response.status_code == 302, f"{who} could not log in"
    return client


def clear_4xx(response: HttpResponse, *codes: int) -> None:
    exc = getattr(response, "exc_info", None)
    assert exc is None, f"server error: {exc[1]!r}"
    assert response.status_code in (codes or range(400, 500)), response.status_code


def banner_shown(response: HttpResponse) -> bool:
    return 'id="bandeau-cookies"' in response.content.decode()


def sign(value: Any) -> str:
    from proactif.assist import _consent

    return signing.dumps(value, salt=_consent.SALT)


def accepted_cookie(client: Client) -> tuple[str, str, int]:
    """Accept everything; the cookie, its consent id and its proof id."""
    from proactif.assist import _consent

    response = client.post("/site/cookies/", {"tout": "accepter"})
    value = response.cookies[_consent.COOKIE].value
    consent_id, proof_id = signing.loads(value, salt=_consent.SALT)
    return value, consent_id, proof_id


# --- the consent cookie -------------------------------------------------------------------------------------


def forged_cookies(valid: str, consent_id: str) -> dict[str, str]:
    return {
        "tampered signature": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "garbage": "x" * 4000,
        "other salt": signing.dumps([consent_id, 1], salt="autre"),
        "proof id 2^63": sign([consent_id, BIG]),
        "proof id 2^64": sign([consent_id, 2**64]),
        "proof id 10^300": sign([consent_id, 10**300]),
        "proof id negative": sign([consent_id, -1]),
        "proof id infinite": sign([consent_id, float("inf")]),
        "proof id NaN": sign([consent_id, float("nan")]),
        "proof id 5000 digits": sign([consent_id, "9" * 5000]),
        "not a pair": sign(5),
        "three items": sign([consent_id, 1, 2]),
        "a dict": sign({"a": 1, "b": 2}),
        "nested": sign([[consent_id], {"x": 1}]),
        "huge consent id": sign([consent_id * 1000, 1]),
    }


def test_a_forged_or_tampered_consent_cookie_counts_as_no_choice(site: None, web: Client) -> None:
    from proactif.assist import _consent
    from proactif.assist.models import ConsentProof

    valid, consent_id, _ = accepted_cookie(web)
    for label, value in forged_cookies(valid, consent_id).items():
        visitor = Client(raise_request_exception=False)
        visitor.cookies[_consent.COOKIE] = value
        for url in (HOME, "/site/cookies/", "/site/themes/sante/", "/site/recherche/?q=cantine"):
            response = visitor.get(url)
            assert response.status_code == 200, (label, url, getattr(response, "exc_info", None))
            if url != "/site/cookies/":
                assert banner_shown(response), (label, url)
        before = ConsentProof.objects.count()
        response = visitor.post("/site/cookies/", {"tout": "refuser"})
        assert response.status_code == 302, (label, getattr(response, "exc_info", None))
        assert ConsentProof.objects.count() == before + 1  # one row, whole
        new_id, _ = signing.loads(response.cookies[_consent.COOKIE].value, salt=_consent.SALT)
        assert isinstance(new_id, str) and len(new_id) == 32, label
        if label in ("tampered signature", "garbage", "other salt"):  # nothing of an unsigned cookie is reused
            assert new_id != consent_id, label
        assert visitor.post("/site/cookies/", {"tout": "refuser"}, HTTP_X_REQUESTED_WITH="fetch").status_code == 204


def test_a_proof_id_of_another_visitor_is_not_honoured(site: None) -> None:
    from proactif.assist import _consent

    _, mine, _ = accepted_cookie(Client())
    _, _, theirs = accepted_cookie(Client())
    visitor = Client()
    visitor.cookies[_consent.COOKIE] = sign([mine, theirs])  # a valid signature cannot be made without the key
    assert banner_shown(visitor.get(HOME))


def test_a_proof_of_an_old_version_withdrawn_or_lapsed_asks_again(site: None, fixed_clock: Any) -> None:
    from datetime import timedelta

    from proactif.assist import _consent
    from proactif.assist.models import ConsentProof

    for change in ({"version": "2025-01"}, {"withdrawn_at": fixed_clock.now()},
                   {"expires_at": fixed_clock.now() - timedelta(seconds=1)}):
        visitor = Client()
        value, _, proof_id = accepted_cookie(visitor)
        assert not banner_shown(visitor.get(HOME))
        ConsentProof.objects.filter(pk=proof_id).update(**change)
        assert banner_shown(visitor.get(HOME)), change
        assert visitor.cookies[_consent.COOKIE].value == value


def test_a_replayed_cookie_of_a_superseded_choice_is_not_honoured(site: None) -> None:
    from proactif.assist import _consent

    visitor = Client()
    accepted, _, _ = accepted_cookie(visitor)
    visitor.post("/site/cookies/", {"tout": "refuser"})
    replay = Client()
    replay.cookies[_consent.COOKIE] = accepted
    decision = _consent.current(replay.get("/site/cookies/").wsgi_request)
    assert decision is None or not decision.allows("personnalisation")


def test_unanswered_or_odd_choices_are_refusals(site: None, web: Client) -> None:
    from proactif.assist.models import ConsentProof

    for data in ({}, {"tout": "ACCEPTER"}, {"tout": "accepter\x00"}, {"personnalisation": "Oui"},
                 {"personnalisation": "x" * 100_000}, {"tout": "refuser", "personnalisation": "oui"}):
        response = web.post("/site/cookies/", data)
        assert response.status_code == 302
        assert ConsentProof.objects.order_by("-pk").first().choices == {"personnalisation": False}, data


def test_an_ambiguous_answer_is_a_refusal(site: None, web: Client) -> None:
    from proactif.assist.models import ConsentProof

    assert web.post("/site/cookies/", {"tout": ["refuser", "accepter"]}).status_code == 302
    assert ConsentProof.objects.order_by("-pk").first().choices == {"personnalisation": False}


# --- redirects, CSRF, methods --------------------------------------------------------------------------------

HOSTILE_NEXT = ["//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil.example",
                "javascript:alert(1)", "JaVaScRiPt:alert(1)", "http:evil.example", "https:/evil.example",
                " //evil.example", "///evil.example", "data:text/html,<script>alert(1)</script>",
                "http://testserver@evil.example/", "//evil.example%2f%2e%2e"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leaves_the_site(site: None, web: Client, target: str) -> None:
    response = web.post("/site/cookies/", {"tout": "accepter", "next": target})
    assert response.status_code == 302 and response["Location"] == HOME
    response = web.post(f"/site/cookies/?next={target}", {"tout": "refuser"})
    assert response["Location"] == HOME
    page = web.get("/site/cookies/", {"next": target})
    assert page.status_code == 200 and html.escape(target) not in page.content.decode()


def test_next_keeps_a_local_page(site: None, web: Client) -> None:
    response = web.post("/site/cookies/", {"tout": "accepter", "next": "/site/demarches/"})
    assert response["Location"] == "/site/demarches/"


@pytest.mark.parametrize(("url", "data"), [("/site/cookies/", {"tout": "accepter"}),
                                           ("/site/mes-centres-d-interet/", {"themes": ["sante"]}),
                                           ("/site/mes-centres-d-interet/oublier/", {})])
def test_the_visitors_forms_want_the_csrf_token(site: None, url: str, data: dict[str, Any]) -> None:
    from proactif.assist import _consent, services
    from proactif.assist.models import ConsentProof

    client = browser()
    before = ConsentProof.objects.count()
    refused = client.post(url, data)
    clear_4xx(refused, 403)
    assert ConsentProof.objects.count() == before
    assert _consent.COOKIE not in refused.cookies and services.INTERESTS_COOKIE not in refused.cookies
    # the same form from the page, as a browser sends it, goes through
    token = csrf_token(client, "/site/mes-centres-d-interet/")
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 302


def test_the_banners_script_posts_with_the_pages_token(site: None) -> None:
    client = browser()
    token = csrf_token(client)
    response = client.post("/site/cookies/", {"tout": "refuser", "csrfmiddlewaretoken": token},
                           HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 204


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
@pytest.mark.parametrize("url", ["/site/cookies/", "/site/mes-centres-d-interet/",
                                 "/site/mes-centres-d-interet/oublier/"])
def test_the_forms_refuse_other_methods(site: None, method: str, url: str) -> None:
    client = browser()
    token = csrf_token(client)
    clear_4xx(getattr(client, method)(url, HTTP_X_CSRFTOKEN=token), 405)
    clear_4xx(getattr(Client(enforce_csrf_checks=True, raise_request_exception=False), method)(url), 403)


def test_forgetting_interests_is_a_post(site: None, web: Client) -> None:
    clear_4xx(web.get("/site/mes-centres-d-interet/oublier/"), 405)


@pytest.mark.parametrize("url", ["/site/recherche/?q=cantine", "/site/themes/sante/", HOME])
def test_read_only_pages_refuse_put_and_delete(site: None, url: str) -> None:
    client = browser()
    token = csrf_token(client)
    for method in ("put", "delete"):
        clear_4xx(getattr(client, method)(url, HTTP_X_CSRFTOKEN=token), 405)


# --- the interests cookie -------------------------------------------------------------------------------------


def test_a_hostile_interests_cookie_keeps_only_known_themes(site: None, web: Client) -> None:
    from proactif.assist import services

    web.cookies[services.INTERESTS_COOKIE] = "sante.inconnu." + "x" * 4000 + ".<script>alert(1)</script>.."
    for url in (HOME, "/site/mes-centres-d-interet/", "/site/themes/sante/"):
        response = web.get(url)
        assert response.status_code == 200, url
        assert "<script>alert(1)</script>" not in response.content.decode()
    assert services.chosen_interests(web.get("/site/mes-centres-d-interet/").wsgi_request) == {"sante"}


def test_unknown_themes_are_not_kept(site: None, web: Client) -> None:
    from proactif.assist import services

    response = web.post("/site/mes-centres-d-interet/", {"themes": ["inconnu", "x" * 10_000, "<b>", "sport"]})
    assert response.status_code == 302 and response["Location"] == "/site/mes-centres-d-interet/?enregistre=1"
    assert response.cookies[services.INTERESTS_COOKIE].value == "sport"
    response = web.post("/site/mes-centres-d-interet/", {"themes": ["inconnu"]})
    assert response.cookies[services.INTERESTS_COOKIE]["max-age"] == 0  # nothing known: the cookie goes


def test_a_theme_ticked_many_times_is_kept_once(site: None, web: Client) -> None:
    from proactif.assist import services

    response = web.post("/site/mes-centres-d-interet/", {"themes": ["sport"] * 900})
    assert response.cookies[services.INTERESTS_COOKIE].value == "sport"


def test_too_many_fields_is_a_clear_400(site: None, web: Client) -> None:
    from proactif.assist import services

    response = web.post("/site/mes-centres-d-interet/", {"themes": ["sport"] * 5000})
    clear_4xx(response, 400)
    assert services.INTERESTS_COOKIE not in response.cookies


# --- themes, pages, ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["inconnu", "a" * 10_000, "%C3%A9t%C3%A9", "%E2%80%AE", str(BIG), "sante%00",
                                  "..%2F..%2Fcms", "-"])
def test_an_unknown_theme_is_404(site: None, web: Client, slug: str) -> None:
    from proactif.assist.models import AudienceCount

    before = AudienceCount.objects.count()
    clear_4xx(web.get(f"/site/themes/{slug}/"), 404)
    assert AudienceCount.objects.count() == before  # nothing counted for a page that does not exist


def test_wagtails_front_end_login_is_only_a_way_to_the_platforms(site: None, web: Client) -> None:
    """No login form outside the platform's throttled page: Wagtail's address sends there, next= kept local."""
    for next_url in ("/site/agenda/", "https://evil.example/"):
        response = web.get("/site/_util/login/", {"next": next_url})
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
        assert "evil" not in response["Location"]
    assert web.post("/site/_util/login/", {"username": "admin", "password": "x"}).status_code in (302, 403, 405)


@pytest.mark.parametrize("url", ["/site/_util/authenticate_with_password/1/1/",
                                 f"/site/_util/authenticate_with_password/{BIG}/{BIG}/", "/site/%00/",
                                 "/site/a%00b/", "/site/" + "a/" * 3000, f"/site/demarches/{BIG}/",
                                 "/site/demarches/../../cms/"])
def test_odd_paths_and_unknown_restrictions_are_404(site: None, web: Client, url: str) -> None:
    clear_4xx(web.get(url), 404)
    clear_4xx(web.post(url, {"password": "x", "username": "admin"}), 404)


def restricted(kind: str) -> Any:
    from wagtail.models import PageViewRestriction

    from proactif.assist.models import DemarchePage

    page = DemarchePage.objects.live().order_by("path").first()
    PageViewRestriction.objects.create(page=page, restriction_type=kind, password="secret" if kind == "password"
                                       else "")
    return page


def test_a_password_protected_page_is_not_a_500(site: None, web: Client) -> None:
    page = restricted("password")
    response = web.get(page.url)
    assert getattr(response, "exc_info", None) is None and response.status_code in (200, 401, 403, 404)
    assert page.specific.summary not in response.content.decode()


def test_a_login_restricted_page_sends_to_the_platforms_login(site: None, web: Client) -> None:
    page = restricted("login")
    response = web.get(page.url)
    assert getattr(response, "exc_info", None) is None
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_restricted_pages_content_is_not_listed(site: None, web: Client) -> None:
    from tests.conftest import fr

    page = restricted("login")
    found = web.get("/site/recherche/", {"q": page.title}).content.decode()
    theme = page.specific.themes.first()
    listed = web.get(f"/site/themes/{theme.slug}/").content.decode()
    assert f'href="{page.url}"' not in found  # the query itself is echoed: the page's link is what must not be
    assert fr(html.escape(page.title)) not in listed


# --- documents ------------------------------------------------------------------------------------------------


def test_documents_unknown_ids_and_names_are_404(site: None, web: Client) -> None:
    from django.core.files.base import ContentFile
    from wagtail.documents.models import Document

    doc = Document.objects.create(title="Arrêté", file=ContentFile(b"contenu", name="arrete.txt"))
    name = Path(doc.file.name).name
    assert web.get(f"/documents/{doc.pk}/{name}").status_code == 200
    for url in (f"/documents/{BIG}/x.pdf", f"/documents/{doc.pk + 10_000}/{name}", "/documents/0/x.pdf",
                f"/documents/{doc.pk}/autre.txt", f"/documents/authenticate_with_password/{BIG}/",
                "/documents/-1/x.pdf", f"/documents/{doc.pk}/..%2F..%2Fsettings.py"):
        clear_4xx(web.get(url), 404)


def test_a_document_of_a_password_collection_is_not_served_without_it(site: None, web: Client) -> None:
    from django.core.files.base import ContentFile
    from wagtail.documents.models import Document
    from wagtail.models import Collection, CollectionViewRestriction

    private = Collection.get_first_root_node().add_child(name="Interne")
    CollectionViewRestriction.objects.create(collection=private, restriction_type="password", password="secret")
    doc = Document.objects.create(title="Interne", collection=private,
                                  file=ContentFile(b"confidentiel", name="interne.txt"))
    response = web.get(f"/documents/{doc.pk}/{Path(doc.file.name).name}")
    assert getattr(response, "exc_info", None) is None
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"confidentiel" not in body


# --- the search -----------------------------------------------------------------------------------------------

QUERIES = ["", "   ", "!!!???...", "'", '"', "*", "(", ")", "-", "^", ":", "AND", "OR NOT", "NEAR(a b)",
           '"a" OR b* NEAR(c d) NOT e:f ^g', "title:cantine", "a & b | !c <-> d:*", "a:* & !b", "a\x00b", "\x00",
           "😀", "\u202eetat", "crèche" * 80, "%", "_", "\\", "a" * 499, "1e308", str(BIG), "-" * 300]


@pytest.mark.parametrize("query", QUERIES)
def test_hostile_queries_answer(site: None, web: Client, query: str) -> None:
    response = web.get("/site/recherche/", {"q": query})
    assert getattr(response, "exc_info", None) is None and response.status_code == 200, query


def test_a_10_kb_query_is_a_clear_400(site: None, web: Client) -> None:
    from proactif.assist.models import AudienceCount

    before = AudienceCount.objects.count()
    response = web.get("/site/recherche/", {"q": "crèche " * 1500})
    clear_4xx(response, 400)
    assert "500 caractères" in response.content.decode()
    assert AudienceCount.objects.count() == before


def test_html_in_a_query_is_escaped_in_the_results_and_the_title(site: None, web: Client) -> None:
    query = '<script>alert(1)</script><img src=x onerror=alert(2)>"\''
    page = web.get("/site/recherche/", {"q": query}).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and "<" not in title.group(1).replace("&lt;", "")


def test_an_empty_query_counts_nothing(site: None, web: Client) -> None:
    from proactif.assist.models import AudienceCount

    before = AudienceCount.objects.count()
    assert web.get("/site/recherche/", {"q": "  "}).status_code == 200
    assert AudienceCount.objects.count() == before


def test_the_audience_keeps_nothing_that_identifies(site: None, web: Client) -> None:
    """A query can hold a name or a phone number; a request carries an address, a browser, a referrer: none of it
    may land in any table — only totals by day, page and theme."""
    from django.db import connection

    from proactif.assist.models import AudienceCount

    marker = "Zorglubinette Quimperlé 0612345678"
    headers = {"HTTP_USER_AGENT": "NavigateurXYZ/1.0", "REMOTE_ADDR": "203.0.113.77",
               "HTTP_X_FORWARDED_FOR": "198.51.100.9", "HTTP_REFERER": "https://referent.example/zz"}
    page = web.get(HOME).content.decode()
    first = re.search(r'href="(/site/demarches/[^"/]+/)"', page)
    assert first
    for url in ("/site/recherche/", HOME, "/site/themes/sante/", first.group(1)):
        assert web.get(url, {"q": marker}, **headers).status_code == 200
    assert AudienceCount.objects.filter(kind="recherche").exists()
    needles = ("Zorglub", "0612345678", "NavigateurXYZ", "203.0.113.77", "198.51.100.9", "referent.example")
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # names from the introspection
            for row in cursor.fetchall():
                text = repr(row)
                found += [(table, needle) for needle in needles if needle in text]
    assert found == []
    assert {row.kind for row in AudienceCount.objects.all()} <= {"page_vue", "recherche"}
    assert all(not row.path.startswith("theme:") or " " not in row.path for row in AudienceCount.objects.all())


# --- the CMS and the editors' page ----------------------------------------------------------------------------

CMS_URLS = ["/cms/", "/cms/pages/", f"/cms/pages/{BIG}/", f"/cms/pages/{BIG}/edit/", "/cms/users/", "/cms/groups/",
            "/redaction/"]


@pytest.mark.parametrize("url", CMS_URLS)
def test_the_cms_sends_anonymous_visitors_to_the_platforms_login(site: None, web: Client, url: str) -> None:
    response = web.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["etat_civil", "responsable", "dpo", "admin", "ccas"])
def test_the_cms_is_closed_to_agents_not_working_for_information(site: None, agents: Any, who: str) -> None:
    client = agent(who)
    for url in [*CMS_URLS, "/cms/login/", "/cms/documents/", "/cms/snippets/"]:
        clear_4xx(client.get(url), 403)
    from proactif.assist import _cms

    assert not agents[who].groups.filter(name=_cms.EDITORS).exists()


def test_an_api_key_does_not_open_the_cms(site: None, web: Client) -> None:
    from proactif.accounts import services as accounts
    from proactif.kernel import capabilities

    token = None
    for service in ("communication", "etat_civil"):
        for code in capabilities.scopes():
            try:
                _, token = accounts.create_api_key(service, "essai", "test", [code])
                break
            except ValueError:
                continue
        if token:
            break
    assert token and token.startswith("pf_test_")
    for url in CMS_URLS:
        response = web.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code in (302, 401, 403), url
        assert response.status_code != 302 or response["Location"].startswith(reverse("accounts:login"))


def test_the_communication_agent_gets_in_and_odd_ids_are_404(site: None, agents: Any) -> None:
    client = agent("communication")
    assert client.get("/cms/").status_code == 200 and client.get("/redaction/").status_code == 200
    for url in (f"/cms/pages/{BIG}/", f"/cms/pages/{BIG}/edit/", f"/cms/pages/{BIG}/view_draft/",
                f"/cms/documents/edit/{BIG}/", f"/cms/images/{BIG}/", f"/cms/snippets/assist/theme/edit/{BIG}/"):
        clear_4xx(client.get(url), 404)
    for url in ("/cms/users/", "/cms/groups/"):  # Wagtail's own permissions: not the editors' business
        assert client.get(url).status_code in (302, 403)
    assert not agents["communication"].is_superuser


# --- the classify command -------------------------------------------------------------------------------------


def classify_cli(path: Path | str) -> Any:
    from proactif.cli import main

    return CliRunner().invoke(main, ["assist", "classify", "--file", str(path), "--json"])


def one_line_error(result: Any) -> None:
    assert result.exit_code == 2, (result.exit_code, repr(result.exception))
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_the_cli_missing_file_or_directory_is_one_line(tmp_path: Path) -> None:
    one_line_error(classify_cli(tmp_path / "absent.txt"))
    one_line_error(classify_cli(tmp_path))


def test_the_cli_reads_cr_only_line_ends(db: None, tmp_path: Path) -> None:
    source = tmp_path / "cr.txt"
    source.write_bytes("cantine tarif\rhoraires piscine\r\rcarte d'identité\r".encode())
    result = classify_cli(source)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["query"] for line in result.output.splitlines()] == [
        "cantine tarif", "horaires piscine", "carte d'identité"]


@pytest.mark.parametrize("content", [bytes(range(256)) * 4, "crèche\n".encode("latin-1")], ids=["binary", "latin1"])
def test_the_cli_refuses_a_file_not_in_utf8_in_one_line(db: None, tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "requetes.bin"
    source.write_bytes(content)
    one_line_error(classify_cli(source))


def test_the_cli_drops_a_byte_order_mark(db: None, tmp_path: Path) -> None:
    source = tmp_path / "bom.txt"
    source.write_bytes("\ufeffcrèche\n".encode())
    result = classify_cli(source)
    assert result.exit_code == 0 and json.loads(result.output)["query"] == "crèche"


def test_the_cli_bounds_a_1_mb_line(db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from proactif.assist import _classify, services

    seen: list[int] = []
    real = _classify.classify

    def spy(queries: list[str], *args: Any, **kwargs: Any) -> Any:
        seen.extend(len(q) for q in queries)
        return real([q[:200] for q in queries], *args, **kwargs)  # the test stays fast whatever the CLI does

    monkeypatch.setattr(_classify, "classify", spy)
    monkeypatch.setattr(services, "classify", spy, raising=False)  # the CLI goes through services
    source = tmp_path / "long.txt"
    source.write_text("crèche " * 150_000 + "\ncantine\n", encoding="utf-8")
    result = classify_cli(source)
    if result.exit_code == 2:  # refused: a one-line error
        one_line_error(result)
        return
    assert result.exit_code == 0, repr(result.exception)
    assert seen and max(seen) <= 1000
    assert max(len(line) for line in result.output.splitlines()) <= 2000
