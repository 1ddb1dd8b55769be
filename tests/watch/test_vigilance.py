"""Reading Météo-France vigilance bulletins (JSON V6 and the former XML) and fetching them — no network, no database."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proactif.watch.vigilance import COLORS, MAX_BYTES, PARIS, Bulletin, Level, VigilanceError, levels_for, parse
from proactif.watch.vigilance_fetch import METEO_FRANCE_URL, fetch
from tests.conftest import reference_file

SUMMER = "vigilance/vigilance-canicule-2026-07-sample.json"
WINTER = "vigilance/vigilance-grand-froid-2026-01-sample.json"


def sample(name: str = SUMMER) -> bytes:
    return reference_file(name).read_bytes()


def document(name: str = SUMMER) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sample(name))
    return doc


def encoded(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def minimal(*domains: dict[str, Any], echeance: str = "J") -> dict[str, Any]:
    return {"product": {"update_time": "2026-07-14T14:01:05Z", "periods": [
        {"echeance": echeance, "timelaps": {"domain_ids": list(domains)}}]}}


def domain(domain_id: str, *items: tuple[str, int]) -> dict[str, Any]:
    return {"domain_id": domain_id, "phenomenon_items": [
        {"phenomenon_id": pid, "phenomenon_max_color_id": color, "timelaps_items": []} for pid, color in items]}


def colors(bulletin: Bulletin, departements: list[str], day: str = "J",
           phenomena: tuple[str, ...] = ("canicule", "grand_froid")) -> dict[tuple[str, str], str]:
    return {key: level.color_name for key, level in levels_for(bulletin, departements, phenomena, day).items()}


# --- the samples --------------------------------------------------------------------------------------------------

def test_the_summer_sample_reads_as_a_json_bulletin_with_its_dates() -> None:
    bulletin = parse(sample())
    assert bulletin.format == "json"
    assert bulletin.issued_at == datetime(2026, 7, 14, 14, 1, 5, tzinfo=UTC)
    assert bulletin.valid_from == datetime(2026, 7, 14, 14, 0, tzinfo=UTC)
    assert bulletin.valid_to == datetime(2026, 7, 15, 22, 0, tzinfo=UTC)
    assert set(bulletin.covered) == {"J", "J1"}
    # FRA (the national roll-up) and 99 (Andorra) are not départements; coastal strips count for theirs
    assert bulletin.covered["J"] == {"13", "29", "2A", "33", "69", "75", "77", "78", "91", "92", "93", "94", "95"}
    assert all(level.departement not in ("FRA", "99") for level in bulletin.levels)


def test_paris_is_orange_canicule_today_and_red_tomorrow() -> None:
    bulletin = parse(sample())
    today = levels_for(bulletin, ["75"], day="J")
    assert today[("75", "canicule")] == Level("75", "canicule", 3, "orange", "J")
    assert today[("75", "canicule")].label == "vigilance orange canicule"
    assert levels_for(bulletin, ["75"], day="J1")[("75", "canicule")].color_name == "rouge"


def test_levels_per_departement_and_phenomenon() -> None:
    bulletin = parse(sample())
    assert colors(bulletin, ["75", "77", "33", "29"], phenomena=("canicule",)) == {
        ("75", "canicule"): "orange", ("77", "canicule"): "jaune", ("33", "canicule"): "vert",
        ("29", "canicule"): "vert"}
    assert colors(bulletin, ["69"], phenomena=("orages", "canicule")) == {
        ("69", "orages"): "jaune", ("69", "canicule"): "jaune"}
    # J1 differs: the rest of Île-de-France turns orange, Gironde yellow, Rhône's storms end
    assert colors(bulletin, ["77", "33", "69"], day="J1", phenomena=("canicule", "orages")) == {
        ("77", "canicule"): "orange", ("77", "orages"): "vert", ("33", "canicule"): "jaune",
        ("33", "orages"): "vert", ("69", "canicule"): "jaune", ("69", "orages"): "vert"}


def test_a_phenomenon_out_of_season_is_green_where_the_bulletin_speaks_and_unknown_elsewhere() -> None:
    summer = parse(sample())
    # grand froid is not listed in July: green for the départements of the map
    assert colors(summer, ["75"]) == {("75", "canicule"): "orange", ("75", "grand_froid"): "vert"}
    # the metropolitan map says nothing of Guadeloupe, nor of a département it does not list
    assert colors(summer, ["971", "01"]) == {}


def test_the_winter_sample_has_grand_froid_and_avalanches() -> None:
    winter = parse(sample(WINTER))
    assert colors(winter, ["67", "68", "75"]) == {
        ("67", "canicule"): "vert", ("67", "grand_froid"): "orange", ("68", "canicule"): "vert",
        ("68", "grand_froid"): "jaune", ("75", "canicule"): "vert", ("75", "grand_froid"): "vert"}
    assert colors(winter, ["68", "75"], day="J1", phenomena=("grand_froid",)) == {
        ("68", "grand_froid"): "orange", ("75", "grand_froid"): "jaune"}
    assert colors(winter, ["74"], phenomena=("avalanches", "neige_verglas")) == {
        ("74", "avalanches"): "jaune", ("74", "neige_verglas"): "jaune"}


def test_a_coastal_strip_counts_for_its_departement() -> None:
    bulletin = parse(sample())
    gironde = levels_for(bulletin, ["33"], ("vagues_submersion", "canicule"))
    assert gironde[("33", "vagues_submersion")] == Level("33", "vagues_submersion", 2, "jaune", "J", coastal=True)
    assert gironde[("33", "canicule")].color_name == "vert"
    corse = parse(encoded(minimal(domain("2A10", ("9", 3)))))
    assert corse.levels == [Level("2A", "vagues_submersion", 3, "orange", "J", coastal=True)]
    # a coastal strip alone says nothing of canicule inland
    assert colors(corse, ["2A"]) == {}


def test_the_highest_colour_wins_for_a_departement_and_phenomenon() -> None:
    bulletin = parse(encoded(minimal(domain("13", ("9", 2), ("6", 2)), domain("1310", ("9", 4)),
                                     domain("13", ("6", 3)))))
    assert colors(bulletin, ["13"], phenomena=("canicule", "vagues_submersion")) == {
        ("13", "canicule"): "orange", ("13", "vagues_submersion"): "rouge"}


def test_codes_are_normalised() -> None:
    bulletin = parse(encoded(minimal(domain("1", ("6", 2)), {"domain_id": 5, "phenomenon_items": []},
                                     domain("2b", ("6", 3)))))
    assert colors(bulletin, ["01", "05", "2B"], phenomena=("canicule",)) == {
        ("01", "canicule"): "jaune", ("05", "canicule"): "vert", ("2B", "canicule"): "orange"}
    assert colors(bulletin, ["1", "2b"], phenomena=("canicule",)) == {
        ("01", "canicule"): "jaune", ("2B", "canicule"): "orange"}


def test_defence_zones_andorra_and_unknown_phenomena_are_skipped() -> None:
    bulletin = parse(encoded(minimal(domain("FRA", ("6", 4)), domain("ZDF_PARIS", ("6", 4)), domain("99", ("6", 4)),
                                     domain("75", ("6", 2), ("10", 3)))))
    assert bulletin.levels == [Level("75", "canicule", 2, "jaune", "J")]


def test_an_unknown_echeance_is_ignored_and_j1_may_be_absent() -> None:
    doc = minimal(domain("75", ("6", 3)))
    doc["product"]["periods"].append({"echeance": "J2", "timelaps": {"domain_ids": [domain("75", ("6", 4))]}})
    bulletin = parse(encoded(doc))
    assert [level.day for level in bulletin.levels] == ["J"]
    assert levels_for(bulletin, ["75"], day="J1") == {}


def test_crlf_or_cr_line_ends_a_bom_and_str_input_are_read() -> None:
    text = json.dumps(minimal(domain("75", ("6", 3))), indent=1)
    for variant in (text.replace("\n", "\r"), text.replace("\n", "\r\n")):
        assert parse(variant).levels[0].color == 3
        assert parse(b"\xef\xbb\xbf" + variant.encode()).levels[0].color == 3


def test_meta_product_datetime_stands_in_for_a_missing_update_time() -> None:
    doc = minimal(domain("75", ("6", 3)))
    del doc["product"]["update_time"]
    doc["meta"] = {"product_datetime": "2026-07-14T14:01:05Z"}
    assert parse(encoded(doc)).issued_at == datetime(2026, 7, 14, 14, 1, 5, tzinfo=UTC)


def test_levels_for_refuses_an_unknown_day_phenomenon_or_code() -> None:
    bulletin = parse(sample())
    with pytest.raises(VigilanceError, match="échéance inconnue « J2 »"):
        levels_for(bulletin, ["75"], day="J2")
    with pytest.raises(VigilanceError, match="phénomène inconnu « chaleur »"):
        levels_for(bulletin, ["75"], ("chaleur",))
    with pytest.raises(VigilanceError, match="code de département invalide « 20 »"):
        levels_for(bulletin, ["20"])


# --- bad files ----------------------------------------------------------------------------------------------------

def without(path: list[Any]) -> bytes:
    doc = document()
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return encoded(doc)


def replaced(path: list[Any], value: Any) -> bytes:
    doc = document()
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return encoded(doc)


ITEM: list[Any] = ["product", "periods", 0, "timelaps", "domain_ids", 1, "phenomenon_items", 5]
ITEM_WHERE = "product.periods[0].timelaps.domain_ids[1].phenomenon_items[5]"


def short_id(value: Any) -> str:
    return str(value)[:40] if isinstance(value, str) else ""


@pytest.mark.parametrize(("data", "message"), ids=short_id, argvalues=[
    (b"", "fichier de vigilance illisible : vide"),
    (b"  \r\n ", "fichier de vigilance illisible : vide"),
    (b"dep;couleur\n75;3\n", "fichier de vigilance illisible : ni JSON ni XML"),
    (sample()[:5000], "fichier de vigilance illisible : JSON invalide (ligne "),
    (b'{"product": \xff}', "fichier de vigilance illisible : encodage non UTF-8 (octet n° 13)"),
    (b"[1, 2]", "fichier de vigilance illisible : le document : objet attendu (trouvé : liste)"),
    (b"[" * 100_000 + b"]" * 100_000, "fichier de vigilance illisible : JSON imbriqué trop profondément"),
    (b'{"product": ' + b"9" * 5000 + b"}", "fichier de vigilance illisible : nombre démesuré dans le JSON"),
    (b'{"meta": {}}', "fichier de vigilance illisible : clé product absente"),
    (without(["product", "periods"]), "fichier de vigilance illisible : clé product.periods absente"),
    (encoded({"product": {"periods": []}}), "clé product.update_time absente"),
    (without(["product", "periods", 1, "timelaps"]), "clé product.periods[1].timelaps absente"),
    (without(["product", "periods", 0, "timelaps", "domain_ids", 3, "domain_id"]),
     "clé product.periods[0].timelaps.domain_ids[3].domain_id absente"),
    (without([*ITEM, "phenomenon_max_color_id"]), f"clé {ITEM_WHERE}.phenomenon_max_color_id absente"),
    (replaced([*ITEM, "phenomenon_max_color_id"], 7),
     f"couleur inconnue 7 à {ITEM_WHERE}.phenomenon_max_color_id (1 vert, 2 jaune, 3 orange ou 4 rouge attendu)"),
    (replaced([*ITEM, "phenomenon_max_color_id"], 0), "couleur inconnue 0"),
    (replaced([*ITEM, "phenomenon_max_color_id"], "orange"),
     f"{ITEM_WHERE}.phenomenon_max_color_id : nombre entier attendu (trouvé : « orange »)"),
    (replaced([*ITEM, "phenomenon_id"], "canicule"), "phenomenon_id : nombre entier attendu"),
    (replaced([*ITEM, "phenomenon_id"], "²"), "phenomenon_id : nombre entier attendu (trouvé : « ² »)"),
    (replaced([*ITEM, "phenomenon_max_color_id"], "9" * 5000), "phenomenon_max_color_id : nombre entier attendu"),
    (replaced([*ITEM, "phenomenon_max_color_id"], True), "phenomenon_max_color_id : nombre entier attendu"),
    (replaced(["product", "periods"], [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]),
     "product.periods[0] : objet attendu (trouvé : liste)"),
    (replaced(["product", "periods", 0, "timelaps", "domain_ids"], {"75": 3}),
     "product.periods[0].timelaps.domain_ids : liste attendue (trouvé : objet)"),
    (replaced(["product", "periods", 0, "timelaps", "domain_ids", 2, "domain_id"], ["75"]),
     "product.periods[0].timelaps.domain_ids[2].domain_id : texte attendu (trouvé : liste)"),
    (replaced(["product", "periods", 0, "echeance"], None), "product.periods[0].echeance : texte attendu"),
    (replaced(["product", "update_time"], "14/07/2026 16h"),
     "date invalide « 14/07/2026 16h » à product.update_time"),
    (replaced(["product", "update_time"], "2026-07-14T16:01:05"), "date sans fuseau horaire"),
    (replaced(["product", "periods"], []), "aucune échéance J ou J1 dans product.periods"),
    (encoded(minimal(domain("FRA", ("6", 3)))), "aucun département"),
    (replaced(["product", "type_cdp"], "cdp_textes"), "produit « cdp_textes » et non la carte de vigilance"),
    (replaced(["product", "warning_type"], "avalanche"), "produit « avalanche » et non une vigilance"),
])
def test_a_bad_file_is_refused_with_one_french_line_saying_what_and_where(data: bytes, message: str) -> None:
    with pytest.raises(VigilanceError) as caught:
        parse(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("fichier de vigilance illisible : ")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    huge = b'{"product": {"padding": "' + b"x" * MAX_BYTES + b'"}}'
    with pytest.raises(VigilanceError, match=r"fichier trop volumineux \(5120 Ko, au plus 5 Mo\)"):
        parse(huge)


def test_one_bad_colour_refuses_the_whole_bulletin() -> None:
    """A half-read national map must not pass for a green one."""
    doc = copy.deepcopy(document())
    doc["product"]["periods"][1]["timelaps"]["domain_ids"][-1]["phenomenon_items"][0]["phenomenon_max_color_id"] = 5
    with pytest.raises(VigilanceError, match=r"couleur inconnue 5 à product\.periods\[1\]"):
        parse(encoded(doc))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["J", "J1", "75", "2A10", "6", "3", "FRA", "x", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["product", "periods", "echeance", "timelaps", "domain_ids", "domain_id", "phenomenon_items",
                         "phenomenon_id", "phenomenon_max_color_id", "update_time"]), inner, max_size=5),
    max_leaves=30)


def read_or_refusal(data: bytes | str) -> Bulletin | str:
    try:
        return parse(data)
    except VigilanceError as exc:
        return str(exc)


@given(JSON_VALUES)
def test_any_json_document_reads_or_is_refused_with_a_vigilance_error(value: Any) -> None:
    outcome = read_or_refusal(json.dumps({"product": value}))
    if isinstance(outcome, str):
        assert outcome.startswith("fichier de vigilance illisible : ") and "\n" not in outcome
    else:
        assert all(level.color_name == COLORS[level.color] for level in outcome.levels)


@given(st.sampled_from([b"", b"{", b"<", b"<CV>", b"<cartevigilance>", b"\xef\xbb\xbf"]), st.binary(max_size=80))
def test_any_bytes_read_or_are_refused_with_a_vigilance_error(prefix: bytes, rest: bytes) -> None:
    outcome = read_or_refusal(prefix + rest)
    assert isinstance(outcome, Bulletin) or "\n" not in outcome


# --- the former XML feed ------------------------------------------------------------------------------------------

NXFR33 = """<?xml version="1.0" encoding="ISO-8859-1"?>
<CV>
  <EV dateinsert="20190628160200" dateprevue="20190629060000"/>
  <DV dep="75" coul="4"><risque val="6"/></DV>
  <DV dep="75" coul="2"><risque val="3"/></DV>
  <DV dep="62" coul="3"><risque val="2"/></DV>
  <DV dep="62" coul="2"><risque val="1"/><risque val="4"/><risque val="3"/></DV>
  <DV dep="6210" coul="2"><risque val="9"/></DV>
  <DV dep="35" coul="1"/>
  <DV dep="3510" coul="1"/>
  <DV dep="99" coul="1"/>
</CV>
""".encode("iso-8859-1")

NXFR34 = b"""<?xml version="1.0" encoding="UTF-8"?>
<cartevigilance>
  <entetevigilance dateinsert="20190628160200"/>
  <datavigilance dep="75" couleur="3"><risque valeur="6"/></datavigilance>
  <datavigilance dep="62" couleur="3"><risque valeur="2"/><crue valeur="2"/></datavigilance>
  <datavigilance dep="6210" couleur="2"/>
  <datavigilance dep="67" couleur="2"><risque valeur="7"/></datavigilance>
  <datavigilance dep="35" couleur="1"/>
</cartevigilance>
"""


def test_the_former_nxfr33_file_gives_a_colour_per_phenomenon() -> None:
    bulletin = parse(NXFR33)
    assert bulletin.format == "xml"
    assert bulletin.issued_at == datetime(2019, 6, 28, 16, 2, tzinfo=PARIS)
    assert bulletin.valid_from is None and bulletin.valid_to is None
    assert colors(bulletin, ["75", "35"], phenomena=("canicule", "orages")) == {
        ("75", "canicule"): "rouge", ("75", "orages"): "jaune", ("35", "canicule"): "vert", ("35", "orages"): "vert"}
    assert colors(bulletin, ["62"], phenomena=("pluie_inondation", "vent_violent", "crues", "vagues_submersion")) == {
        ("62", "pluie_inondation"): "orange", ("62", "vent_violent"): "jaune", ("62", "crues"): "jaune",
        ("62", "vagues_submersion"): "jaune"}
    # the former map had one zone for Paris and the petite couronne
    assert colors(bulletin, ["92", "94"], phenomena=("canicule",)) == {
        ("92", "canicule"): "rouge", ("94", "canicule"): "rouge"}
    assert levels_for(bulletin, ["75"], day="J1") == {}


def test_the_former_nxfr34_file_leaves_unknown_what_an_orange_departement_does_not_list() -> None:
    bulletin = parse(NXFR34)
    assert colors(bulletin, ["75", "67", "35"]) == {
        ("75", "canicule"): "orange", ("67", "canicule"): "vert", ("67", "grand_froid"): "jaune",
        ("35", "canicule"): "vert", ("35", "grand_froid"): "vert"}
    assert colors(bulletin, ["62"], phenomena=("pluie_inondation", "crues")) == {
        ("62", "pluie_inondation"): "orange", ("62", "crues"): "jaune"}


@pytest.mark.parametrize(("data", "message"), [
    (b"<CV><EV dateinsert='20190628160200'/><DV dep='75' coul='3'><risque val='6'/></CV>", "XML invalide (ligne 1"),
    (b"<vigilance/>", "élément racine <vigilance> inconnu"),
    (b"<CV><DV dep='75' coul='1'/></CV>", "date du bulletin absente (<EV dateinsert=…>)"),
    (b"<CV><EV dateinsert='hier'/><DV dep='75' coul='1'/></CV>", "date invalide « hier » à <EV dateinsert>"),
    (b"<CV><EV dateinsert='20190628160200'/><DV dep='75' coul='6'/></CV>", "couleur inconnue 6 à <DV> n° 1 @coul"),
    (b"<CV><EV dateinsert='20190628160200'/><DV coul='2'/></CV>", "<DV> n° 1 : attribut dep absent"),
    (b"<CV><EV dateinsert='20190628160200'/><DV dep='75' coul='2'><risque/></DV></CV>",
     "<DV> n° 1 <risque> : attribut val absent"),
    (b"<CV><EV dateinsert='20190628160200'/></CV>", "aucun département dans les éléments <DV>"),
    (b'<?xml version="1.0"?><!DOCTYPE CV [<!ENTITY a "aaaa">]><CV/>', "déclaration DOCTYPE ou ENTITY refusée"),
])
def test_a_bad_xml_file_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(VigilanceError, match=r"^fichier de vigilance illisible : ") as caught:
        parse(data)
    assert message in str(caught.value)


# --- fetching -----------------------------------------------------------------------------------------------------

def client_answering(respond: Callable[[httpx.Request], httpx.Response],
                     seen: list[httpx.Request] | None = None) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return respond(request)
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_fetch_sends_the_api_key_header_and_parses_the_answer() -> None:
    seen: list[httpx.Request] = []
    client = client_answering(lambda request: httpx.Response(200, content=sample()), seen)
    bulletin = fetch(METEO_FRANCE_URL, api_key="cle-de-test", client=client)
    assert levels_for(bulletin, ["75"])[("75", "canicule")].color_name == "orange"
    assert seen[0].method == "GET"
    assert str(seen[0].url) == "https://public-api.meteofrance.fr/public/DPVigilance/v1/cartevigilance/encours"
    assert seen[0].headers["apikey"] == "cle-de-test"
    assert not client.is_closed  # a client the caller gave stays the caller's


def test_fetch_without_a_key_sends_no_key_header() -> None:
    seen: list[httpx.Request] = []
    fetch("https://files.example.org/CDP_CARTE_EXTERNE.json",
          client=client_answering(lambda request: httpx.Response(200, content=sample()), seen))
    assert "apikey" not in seen[0].headers


@pytest.mark.parametrize(("status", "message"), [
    (401, "clé d'API refusée par public-api.meteofrance.fr (HTTP 401) : vérifiez la clé du service de vigilance"),
    (403, "clé d'API refusée par public-api.meteofrance.fr (HTTP 403)"),
    (404, "adresse introuvable sur public-api.meteofrance.fr (HTTP 404)"),
    (429, "quota de requêtes dépassé chez public-api.meteofrance.fr (HTTP 429)"),
    (500, "le service de vigilance public-api.meteofrance.fr est en erreur (HTTP 500)"),
    (502, "est en erreur (HTTP 502)"),
    (302, "public-api.meteofrance.fr redirige ailleurs (HTTP 302)"),
    (400, "requête refusée par public-api.meteofrance.fr (HTTP 400)"),
])
def test_fetch_turns_an_http_error_into_one_line(status: int, message: str) -> None:
    client = client_answering(lambda request: httpx.Response(status, headers={"location": "https://elsewhere.example/"},
                                                              text='{"code": 900901}'))
    with pytest.raises(VigilanceError) as caught:
        fetch(METEO_FRANCE_URL, api_key="secret-key", client=client)
    assert message in str(caught.value)
    assert "secret-key" not in str(caught.value)


def test_fetch_reports_a_timeout_and_an_unreachable_host() -> None:
    def too_slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(VigilanceError, match=r"^le service de vigilance public-api.meteofrance.fr n'a pas répondu "
                                             r"en 2.5 s$"):
        fetch(METEO_FRANCE_URL, client=client_answering(too_slow), timeout=2.5)
    with pytest.raises(VigilanceError, match=r"^le service de vigilance public-api.meteofrance.fr est injoignable "
                                             r"\(ConnectError\)$"):
        fetch(METEO_FRANCE_URL, client=client_answering(refused))


def test_fetch_reports_a_bad_body_with_the_host() -> None:
    client = client_answering(lambda request: httpx.Response(200, text="<html>Maintenance</html>"))
    with pytest.raises(VigilanceError, match=r"^réponse de public-api.meteofrance.fr : fichier de vigilance "
                                             r"illisible : élément racine <html> inconnu"):
        fetch(METEO_FRANCE_URL, client=client)
    client = client_answering(lambda request: httpx.Response(200, json={"product": {}}))
    with pytest.raises(VigilanceError, match=r"clé product.update_time absente$"):
        fetch(METEO_FRANCE_URL, client=client)


def test_fetch_stops_reading_a_body_over_the_limit() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"{" + b" " * 1024 * 1024] * 8))

    with pytest.raises(VigilanceError,
                       match=r"^réponse de public-api.meteofrance.fr trop volumineuse \(plus de 5 Mo\)$"):
        fetch(METEO_FRANCE_URL, client=client_answering(endless))
    declared = client_answering(lambda request: httpx.Response(200, headers={"content-length": str(MAX_BYTES + 1)},
                                                                content=b"{}"))
    with pytest.raises(VigilanceError, match="trop volumineuse"):
        fetch(METEO_FRANCE_URL, client=declared)


@pytest.mark.parametrize("url", ["", "ftp://example.org/vigilance.json", "not a url", "https://"])
def test_fetch_refuses_an_address_that_is_not_http(url: str) -> None:
    with pytest.raises(VigilanceError, match=r"^adresse du service de vigilance invalide"):
        fetch(url, client=client_answering(lambda request: httpx.Response(200, content=sample())))
