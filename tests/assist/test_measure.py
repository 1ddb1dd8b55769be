"""Personalisation measured: control against personalised per surface and overall from BlockStat, the uplift's
Newcombe interval, French figures on the editors' page, and the simulation on synthetic visitors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from proactif.assist import _interests, _measure
from proactif.assist.models import BlockStat
from proactif.kernel import clock
from tests.conftest import fr
from tests.web.test_pages import logged_in


def stat(surface: str, group: str, block: str, shown: int, clicks: int, days_ago: int = 0) -> None:
    BlockStat.objects.create(day=clock.today() - timedelta(days=days_ago), surface=surface, group=group,
                             block=block, shown=shown, clicks=clicks)


@pytest.mark.django_db
def test_the_measure_sums_each_group_per_surface_and_overall() -> None:
    BlockStat.objects.all().delete()
    stat("home", "controle", "famille-enfance", 1000, 30)
    stat("home", "controle", "sport", 1000, 10)
    stat("home", "personnalise", "famille-enfance", 9000, 540)
    stat("home", "personnalise", "sport", 9000, 180, days_ago=3)
    stat("theme:sport", "controle", "101", 200, 4)
    stat("theme:sport", "personnalise", "101", 1800, 54)
    stat("home", "personnalise", "sport", 99999, 99999, days_ago=40)  # outside the 30 days
    m = _measure.measure(30)
    home = m["surfaces"][0]
    assert home["surface"] == "home" and home["label"] == "Accueil"
    assert (home["control"]["shown"], home["control"]["clicks"]) == (2000, 40)
    assert (home["personalised"]["shown"], home["personalised"]["clicks"]) == (18000, 720)
    expected = _interests.uplift(40, 2000, 720, 18000)
    assert home["uplift"] == expected and round(expected.difference, 4) == 0.02
    assert home["significant"] and expected.low > 0
    overall = m["overall"]
    assert (overall["control"]["shown"], overall["personalised"]["clicks"]) == (2200, 774)
    assert overall["uplift"] == _interests.uplift(44, 2200, 774, 19800)
    assert m["surfaces"][1]["label"] == "Thème « sport »"


def test_french_figures() -> None:
    assert _measure.fr_number(1234567) == "1\u202f234\u202f567"
    assert _measure.fr_number(0.5, 2) == "0,50"
    assert _measure.fr_percent(0.0345, 2) == "3,45\u202f%"
    assert _measure.fr_percent(-0.012, 1, signed=True) == "−1,2\u202f%"
    assert _measure.fr_percent(0.02, 2, signed=True) == "+2,00\u202f%"


@pytest.mark.django_db
def test_the_editors_page_names_the_method_the_control_share_and_the_figures(client: Client, agents: dict,
                                                                               settings) -> None:
    settings.PERSONALISATION_CONTROL_PERCENT = 10
    BlockStat.objects.all().delete()
    stat("home", "controle", "sport", 12000, 240)
    stat("home", "personnalise", "sport", 108000, 3240)
    page = logged_in(client, "communication").get("/redaction/personnalisation/")
    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("10 % des profils (groupe témoin) gardent l'ordre par défaut", "Newcombe (1998) méthode 10",
                     "empreinte de la clé aléatoire du profil", "L'intervalle exclut zéro"):
        assert fr(expected) in text, expected
    assert "12\u202f000" in text and "108\u202f000" in text  # thousands the French way
    assert "2,00\u202f%" in text and "3,00\u202f%" in text and "+1,00\u202f%" in text  # the rates and the gain
    assert logged_in(Client(), "police").get("/redaction/personnalisation/").status_code == 403


@pytest.mark.django_db
def test_an_empty_period_says_so(client: Client, agents: dict) -> None:
    BlockStat.objects.all().delete()
    text = logged_in(client, "communication").get("/redaction/personnalisation/").content.decode()
    assert fr("Pas encore assez de mesures dans les deux groupes.") in text
    assert fr("Aucun bloc mesuré sur la période.") in text


def test_the_simulation_finds_the_effect_it_was_built_with_and_is_reproducible() -> None:
    result = _measure.simulate(4000, 7)
    assert result == _measure.simulate(4000, 7)
    assert result["control"]["visitors"] + result["personalised"]["visitors"] == 4000
    assert result["personalised"]["rate"] > result["control"]["rate"]
    assert 0 < result["low"] < result["uplift"] < result["high"]
    assert result["personalised"]["interest_shown"] > 0.85 > result["control"]["interest_shown"]
    assert "Newcombe" in result["method"]
    with pytest.raises(ValueError):
        _measure.simulate(0, 1)


def test_without_effect_the_interval_holds_zero() -> None:
    """Personalised and control drawn alike: the interval contains 0 (a sanity check of the method)."""
    result = _interests.uplift(50, 2000, 52, 2000)
    assert result.low < 0 < result.high
