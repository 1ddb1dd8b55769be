"""The recommendations API for the collectivité's other sites: a per-site pseudonym the visitor's own browser gets
(with consent only), ranked content ids (never interests), the scope `assist:read` bound to `information`, a test
key reaching no real visitor, and bad input as a 422 naming the field."""

from __future__ import annotations

import secrets

import pytest
from django.test import Client

from proactif.accounts import services as accounts
from proactif.assist import api
from proactif.assist.models import Profile, ProfilePseudonym
from proactif.audit.models import AccessLog
from proactif.kernel import clock

pytestmark = pytest.mark.django_db
URL = "/api/v1/assist/recommendations"


@pytest.fixture(autouse=True)
def partner_sites(settings) -> None:
    settings.ASSIST_SITES = ["mediatheque", "piscine"]


def bearer(scopes: list[str], kind: str = "live", service: str = "communication") -> dict[str, str]:
    _, token = accounts.create_api_key(service, f"site partenaire ({kind})", kind, scopes)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def profile(**fields: object) -> Profile:
    now = clock.now()
    return Profile.objects.create(key=secrets.token_hex(16), consent_id=secrets.token_hex(16), created_at=now,
                                  seen_at=now, **fields)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["resultats"]]


def test_a_pseudonym_is_random_one_per_site_and_profile() -> None:
    someone = profile()
    first = api.pseudonym(someone, "mediatheque")
    assert api.pseudonym(someone, "mediatheque") == first and len(first) >= 20
    other = api.pseudonym(someone, "piscine")
    assert other != first  # two sites cannot join what they know
    assert ProfilePseudonym.objects.filter(profile=someone).count() == 2
    assert api.profile_for("mediatheque", first) == someone and api.profile_for("piscine", first) is None


def test_the_partner_gets_ranked_content_for_its_pseudonym_never_interests(client: Client) -> None:
    family = profile(chosen={"famille-enfance": True}, interests={"famille-enfance": [8.0, clock.now().timestamp()]})
    name = api.pseudonym(family, "mediatheque")
    headers = bearer(["assist:read"])
    logged = AccessLog.objects.filter(action="assist.recommandations").count()
    answer = client.get(URL, {"site": "mediatheque", "visiteur": name, "limite": "5"}, **headers)
    row = AccessLog.objects.filter(action="assist.recommandations").latest("pk")
    assert AccessLog.objects.filter(action="assist.recommandations").count() == logged + 1
    assert row.purpose == "information" and row.detail == {"site": "mediatheque"}
    body = answer.json()
    assert answer.status_code == 200 and body["site"] == "mediatheque" and len(body["resultats"]) == 5
    assert set(body["resultats"][0]) == {"id", "url", "titre"}
    assert "famille" not in answer.content.decode().lower().split('"resultats"')[0]
    from proactif.assist.models import SearchEntry

    themes = dict(SearchEntry.objects.filter(page_id__in=ids(answer)).values_list("page_id", "themes"))
    assert all("famille-enfance" in themes[i] for i in ids(answer)[:3])  # the family's pages first
    default = ids(client.get(URL, {"site": "mediatheque", "visiteur": "inconnu-" + "x" * 20, "limite": "5"},
                             **headers))
    assert default != ids(answer)
    assert ids(client.get(URL, {"site": "mediatheque", "limite": "5"}, **headers)) == default
    # another site's name for the same visitor is unknown here: the default order, not a 404
    assert ids(client.get(URL, {"site": "piscine", "visiteur": name, "limite": "5"}, **headers)) == default


def test_a_frozen_profile_or_a_test_key_gets_the_default_order(client: Client) -> None:
    family = profile(chosen={"famille-enfance": True})
    name = api.pseudonym(family, "mediatheque")
    live = ids(client.get(URL, {"site": "mediatheque", "visiteur": name}, **bearer(["assist:read"])))
    default = ids(client.get(URL, {"site": "mediatheque"}, **bearer(["assist:read"])))
    assert live != default
    test = ids(client.get(URL, {"site": "mediatheque", "visiteur": name}, **bearer(["assist:read"], "test")))
    assert test == default  # a test key reaches no real visitor
    Profile.objects.filter(pk=family.pk).update(frozen=True)
    assert ids(client.get(URL, {"site": "mediatheque", "visiteur": name}, **bearer(["assist:read"]))) == default


def test_the_scope_is_required_and_bound_to_the_information_purpose(client: Client) -> None:
    assert client.get(URL, {"site": "mediatheque"}).status_code == 401
    police = bearer(["alerts:read"], service="police_municipale")
    assert client.get(URL, {"site": "mediatheque"}, **police).status_code == 403
    with pytest.raises(ValueError, match="portée assist:read refusée au service police_municipale"):
        accounts.create_api_key("police_municipale", "x", "live", ["assist:read"])
    assert "assist:read" in accounts.scopes_for_service("communication")


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"site": "Médiathèque"}, "site", "code de site attendu"),
    ({"site": "x" * 41}, "site", "code de site attendu"),
    ({"site": ""}, "site", "code de site attendu"),
    ({"site": "inconnu"}, "site", "site « inconnu » inconnu"),
    ({"site": "mediatheque", "limite": "0"}, "limite", "nombre entier de 1 à 50"),
    ({"site": "mediatheque", "limite": "51"}, "limite", "nombre entier de 1 à 50"),
    ({"site": "mediatheque", "limite": str(2**63)}, "limite", "nombre entier de 1 à 50"),
    ({"site": "mediatheque", "limite": "-3"}, "limite", "nombre entier de 1 à 50"),
    ({"site": "mediatheque", "limite": "dix"}, "limite", "nombre entier de 1 à 50"),
    ({"site": "mediatheque", "visiteur": "x" * 41}, "visiteur", "40 caractères au plus"),
    ({"site": "mediatheque", "visiteur": "a\x00b"}, "visiteur", "40 caractères au plus"),
    ({"site": "mediatheque", "visiteur": "é"}, "visiteur", "40 caractères au plus"),
])
def test_bad_input_is_a_422_naming_the_field(client: Client, query: dict[str, str], field: str, message: str) -> None:
    answer = client.get(URL, query, **bearer(["assist:read"]))
    assert answer.status_code == 422, answer.content
    detail = answer.json()["detail"]
    assert detail[0]["loc"] == ["query", field] and message in detail[0]["msg"]


def test_an_id_like_pseudonym_past_a_bigint_is_just_unknown(client: Client) -> None:
    headers = bearer(["assist:read"])
    default = ids(client.get(URL, {"site": "mediatheque", "limite": "50"}, **headers))
    assert len(default) == 50
    assert ids(client.get(URL, {"site": "mediatheque", "visiteur": str(2**63), "limite": "50"}, **headers)) == default


def test_the_visitors_browser_gets_its_pseudonym_with_consent_only(client: Client) -> None:
    assert client.get("/site/pseudonyme/mediatheque/").status_code == 409  # never asked: nothing
    client.post("/site/cookies/", {"tout": "accepter"})
    client.post("/site/mieux-vous-connaitre/", {"question": "foyer", "reponse": "seul", "action": "repondre"})
    given = client.get("/site/pseudonyme/mediatheque/")
    assert given.status_code == 200 and given["Cache-Control"] == "no-store"
    name = given.json()["pseudonyme"]
    assert client.get("/site/pseudonyme/mediatheque/").json()["pseudonyme"] == name
    assert ProfilePseudonym.objects.get(pseudonym=name).site == "mediatheque"
    assert client.get("/site/pseudonyme/ailleurs/").status_code == 404
    client.post("/site/cookies/", {"tout": "refuser"})
    assert client.get("/site/pseudonyme/mediatheque/").status_code == 409
