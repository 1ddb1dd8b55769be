"""Edge cases of every screened benefit: a household just below and one just above eligibility, built from known
gross, net and taxable amounts (as the feeds give them), computed by the vectorised screening (one simulation
for all of them, as a chunk is) and checked against a hand computation from the legislation's parameters, read
from OpenFisca-France's parameter tree at the screened month. Each benefit reads its own amount: the ASPA the
gross pension, the RSA, the prime d'activité and the C2S the net ones, housing aid, the AAH's yearly evaluation
and the chèque énergie (through the reference tax income) the taxable ones (docs/rights.md)."""

from __future__ import annotations

import math
from datetime import date
from functools import cache
from typing import Any

import pytest

from proactif.rights import _local_aids as local_aids
from proactif.rights import _openfisca as openfisca
from proactif.rights import _screening as screening
from proactif.rights import domain

PERIOD = "2026-11"
ON = date(2026, 11, 1)
MONTHS = domain.input_months(PERIOD)  # the two screened months and the twelve before each
CASES: dict[str, dict[str, Any]] = {}  # every household of this file, computed together in one simulation


@cache
def law(at: date = ON) -> Any:
    """OpenFisca-France's parameters at a date (the screened month unless said otherwise)."""
    return openfisca.tax_benefit_system().parameters(at.isoformat())


def case(name: str, *, born: date, kind: str, net: float, gross: float | None = None, taxable: float | None = None,
         statut: str = "proprietaire", loyer: float | None = None, taux: int = 0,
         children: tuple[date, ...] = ()) -> str:
    """A household of one adult (and children) with one resource, the same every month, registered for the
    module's simulation; returns its name."""
    hid = len(CASES) + 1
    adult = hid * 10

    def member(pid: int, birth: date, role: str, taux: int = 0) -> dict[str, Any]:
        child = role == "enfant"
        return {"id": pid, "date_naissance": birth, "sexe": "F", "menage_role": role, "famille_id": hid,
                "famille_role": "enfant" if child else "parent", "foyer_fiscal_id": hid,
                "foyer_role": "personne_a_charge" if child else "declarant", "taux_incapacite": taux}

    def every_month(amount: float | None) -> dict[int, dict[str, dict[str, float]]]:
        return {} if amount is None else {adult: {kind: dict.fromkeys(MONTHS, amount)}}

    members = [member(adult, born, "personne_de_reference", taux)]
    members += [member(adult + 1 + n, birth, "enfant") for n, birth in enumerate(children)]
    CASES[name] = {"id": hid, "statut_occupation": statut, "loyer": loyer, "depcom": "75115", "quartier_id": None,
                   "members": members, "resources": every_month(net), "gross": every_month(gross),
                   "taxable": every_month(taxable), "fed": [adult], "benefits_paid": {}, "benefits_receiving": {}}
    return name


def given(name: str, amount: str = "resources") -> float:
    """A case's monthly amount as the registry knows it: net (`resources`), `gross` or `taxable`."""
    composition = CASES[name]
    by_kind = composition[amount][composition["members"][0]["id"]]
    return next(iter(by_kind.values()))[PERIOD]


@pytest.fixture(scope="module")
def amounts() -> dict[str, dict[str, float]]:
    """Every case's monthly amounts for the screened month, from one vectorised simulation of them all."""
    situations = {c["id"]: domain.situation(c, PERIOD) for c in CASES.values()}
    computed = screening.amounts_by_household(situations, PERIOD)
    return {name: computed[c["id"]][PERIOD] for name, c in CASES.items()}


# --- ASPA: gross pension over the last quarter against the ceiling ---------------------------------------------
ASPA_CEILING = law().prestations_sociales.solidarite_insertion.minimum_vieillesse.aspa.plafond_ressources \
    .personnes_seules / 12
RETIRED = date(1954, 5, 10)  # 72
case("aspa_below", born=RETIRED, kind="retraite", gross=round(ASPA_CEILING - 25, 2),
     net=round((ASPA_CEILING - 25) * 0.93, 2), taxable=round((ASPA_CEILING - 25) * 0.96, 2))
case("aspa_above", born=RETIRED, kind="retraite", gross=round(ASPA_CEILING + 5, 2),
     net=round(ASPA_CEILING - 60, 2), taxable=round(ASPA_CEILING - 30, 2))
case("aspa_net_only", born=RETIRED, kind="retraite", net=round(ASPA_CEILING - 60, 2))


def expected_aspa(gross: float) -> float:
    aspa = law().prestations_sociales.solidarite_insertion.minimum_vieillesse.aspa
    maximum, ceiling = aspa.montant_maximum_annuel.personnes_seules / 12, aspa.plafond_ressources.personnes_seules / 12
    return max(0.0, maximum - max(0.0, gross + maximum - ceiling))


def test_aspa_just_below_the_ceiling_is_the_ceiling_minus_the_gross_pension(amounts) -> None:
    gross = given("aspa_below", "gross")
    assert expected_aspa(gross) == pytest.approx(25, abs=0.01)
    assert amounts["aspa_below"]["aspa"] == pytest.approx(expected_aspa(gross), abs=0.01)


def test_aspa_just_above_the_ceiling_in_gross_is_nothing_though_the_net_pension_is_below(amounts) -> None:
    assert given("aspa_above") < ASPA_CEILING < given("aspa_above", "gross")
    assert amounts["aspa_above"]["aspa"] == 0


def test_an_aspa_over_a_pension_known_in_net_only_is_not_a_detection(amounts) -> None:
    """OpenFisca reads the gross pension and cannot rebuild it from the net one: it counts the pension as
    nothing and finds the full allowance — which the screening explains and never detects."""
    maximum = law().prestations_sociales.solidarite_insertion.minimum_vieillesse.aspa.montant_maximum_annuel \
        .personnes_seules / 12
    assert amounts["aspa_net_only"]["aspa"] == pytest.approx(maximum, abs=0.01)
    composition = CASES["aspa_net_only"]
    _, missing, confidence = domain.explain(composition, "aspa", maximum, maximum, PERIOD)
    assert "montant_brut" in missing and confidence == "faible" and domain.UNRELIABLE & set(missing)
    _, missing, _ = domain.explain(CASES["aspa_below"], "aspa", 25, 25, PERIOD)
    assert "montant_brut" not in missing


# --- RSA: net unemployment benefit against the lump sum minus the housing allowance of an owner --------------
def rsa_room() -> float:
    """What a single owner's RSA leaves for other resources: the lump sum minus the housing package."""
    rsa = law().prestations_sociales.solidarite_insertion.minima_sociaux.rsa
    return rsa.rsa_m.montant_de_base_du_rsa * (1 - rsa.rsa_fl.forfait_logement.taux_1_personne)


ADULT = date(1986, 2, 14)  # 40
case("rsa_below", born=ADULT, kind="chomage", net=round(rsa_room() - 20, 2), gross=round((rsa_room() - 20) * 1.07, 2),
     taxable=round((rsa_room() - 20) * 1.03, 2))
case("rsa_above", born=ADULT, kind="chomage", net=round(rsa_room() + 3, 2), gross=round((rsa_room() + 3) * 1.07, 2),
     taxable=round((rsa_room() + 3) * 1.03, 2))


def test_rsa_just_below_is_the_lump_sum_less_housing_package_and_net_benefit(amounts) -> None:
    net = given("rsa_below")
    minimum = law().prestations_sociales.solidarite_insertion.minima_sociaux.rsa.rsa_maj.montant_minimum_verse
    expected = rsa_room() - net
    assert expected >= minimum
    assert amounts["rsa_below"]["rsa"] == pytest.approx(expected, abs=0.01)


def test_rsa_just_above_is_nothing(amounts) -> None:
    assert given("rsa_above") > rsa_room()
    assert amounts["rsa_above"]["rsa"] == 0


# --- Prime d'activité: net wages of the last quarter, around the payment minimum ------------------------------
def ppa_fictive(wage: float) -> float:
    """A single owner's prime d'activité for a month of net wages (article L842-3 CSS): lump sum + bonus + 61 %
    of earnings − max(resources + housing package, lump sum)."""
    p = law()
    ppa = p.prestations_sociales.solidarite_insertion.minima_sociaux.ppa
    smic = p.marche_travail.salaire_minimum.smic.smic_b_horaire
    lump = ppa.pa_m.montant_de_base
    housing = lump * ppa.pa_fl.taux_forfait_logement.foyer_1_personne
    low, high = ppa.pa_m.bonification.seuil_bonification * smic, ppa.pa_m.bonification.seuil_max_bonification * smic
    top = round(ppa.pa_m.bonification.taux_bonification_max * lump, 2)
    bonus = min(top, max(0.0, top * (wage - low) / (high - low)))
    return max(0.0, lump + bonus + ppa.pa_m.majoration_ressources_revenus_activite * wage - max(wage + housing, lump))


def ppa_edge() -> float:
    """The net wage at which the prime falls to its payment minimum (where the bonus is at its top)."""
    p = law()
    ppa = p.prestations_sociales.solidarite_insertion.minima_sociaux.ppa
    lump = ppa.pa_m.montant_de_base
    top = round(ppa.pa_m.bonification.taux_bonification_max * lump, 2)
    housing = lump * ppa.pa_fl.taux_forfait_logement.foyer_1_personne
    kept = 1 - ppa.pa_m.majoration_ressources_revenus_activite
    return (lump + top - housing - ppa.pa_m.montant_minimum_verse) / kept


YOUNG = date(1996, 6, 1)  # 30
case("ppa_below", born=YOUNG, kind="salaire", net=round(ppa_edge() - 30, 2), gross=round((ppa_edge() - 30) * 1.28, 2),
     taxable=round((ppa_edge() - 30) * 1.03, 2))
case("ppa_above", born=YOUNG, kind="salaire", net=round(ppa_edge() + 15, 2), gross=round((ppa_edge() + 15) * 1.28, 2),
     taxable=round((ppa_edge() + 15) * 1.03, 2))
case("ppa_self_employed", born=YOUNG, kind="independant", net=round(ppa_edge() - 30, 2))


def test_prime_activite_just_below_its_payment_minimum_is_paid(amounts) -> None:
    minimum = law().prestations_sociales.solidarite_insertion.minima_sociaux.ppa.pa_m.montant_minimum_verse
    expected = ppa_fictive(given("ppa_below"))
    assert expected >= minimum
    assert amounts["ppa_below"]["prime_activite"] == pytest.approx(expected, abs=0.01)


def test_prime_activite_just_above_is_under_its_payment_minimum_so_nothing(amounts) -> None:
    minimum = law().prestations_sociales.solidarite_insertion.minima_sociaux.ppa.pa_m.montant_minimum_verse
    assert 0 < ppa_fictive(given("ppa_above")) < minimum
    assert amounts["ppa_above"]["prime_activite"] == 0


def test_a_micro_entrepreneurs_monthly_profit_counts_as_earnings_like_a_net_wage(amounts) -> None:
    """Self-employed income is given as what the RSA and the prime d'activité read each month (the
    micro-entrepreneur's profit), the previous years as taxable self-employed income."""
    assert amounts["ppa_self_employed"]["prime_activite"] == pytest.approx(amounts["ppa_below"]["prime_activite"],
                                                                           abs=0.01)


# --- C2S: twelve months of net resources plus the owner's housing package against the ceilings ---------------
def css_room(participation: bool) -> float:
    """The monthly net pension at the ceiling of the free C2S (or of the C2S with participation) for a single
    owner: (annual ceiling − housing package) / 12."""
    p = law().prestations_sociales.solidarite_insertion.minima_sociaux
    ceiling = round(p.cs.cmu.plafond_base) * (1 + p.cs.acs.majoration_plafond_acs if participation else 1)
    housing = 12 * p.rsa.rsa_m.montant_de_base_du_rsa * p.cs.css.forfait_logement_sans_al.taux_1p
    return (ceiling - housing) / 12


def css_participation_60_69() -> float:
    css = law().prestations_sociales.solidarite_insertion.minima_sociaux.cs.css
    return css.montant["france"]["cmu_60_69_ans"]


EARLY_RETIRED = date(1964, 3, 3)  # 62: too young for the ASPA
for name, at in (("css_free_below", css_room(False) - 2), ("css_free_above", css_room(False) + 2),
                 ("css_participation_below", css_room(True) - 2), ("css_participation_above", css_room(True) + 2)):
    case(name, born=EARLY_RETIRED, kind="retraite", net=round(at, 2), gross=round(at * 1.09, 2),
         taxable=round(at * 1.03, 2))


def test_free_c2s_just_below_its_ceiling_and_with_participation_just_above(amounts) -> None:
    assert amounts["css_free_below"]["css_gratuite"] == 1.0
    assert amounts["css_free_below"]["css_participation"] == 0
    assert amounts["css_free_above"]["css_gratuite"] == 0.0
    assert amounts["css_free_above"]["css_participation"] == pytest.approx(css_participation_60_69(), abs=0.01)


def test_c2s_with_participation_just_below_its_ceiling_and_nothing_above(amounts) -> None:
    assert amounts["css_participation_below"]["css_participation"] == pytest.approx(css_participation_60_69(),
                                                                                    abs=0.01)
    assert amounts["css_participation_above"]["css_gratuite"] == 0.0
    assert amounts["css_participation_above"]["css_participation"] == 0


# --- AAH: a person at 80 % without work, her taxable pension of year N-2 against the maximum -----------------
def aah_maximum() -> float:
    return law().prestations_sociales.prestations_etat_de_sante.invalidite.aah.montant


DISABLED = date(1985, 9, 9)  # 41
case("aah_below", born=DISABLED, kind="retraite", taux=80, taxable=round(aah_maximum() - 30, 2),
     net=round((aah_maximum() - 30) * 0.97, 2), gross=round((aah_maximum() - 30) * 1.06, 2))
case("aah_above", born=DISABLED, kind="retraite", taux=80, taxable=round(aah_maximum() + 2, 2),
     net=round((aah_maximum() + 2) * 0.97, 2), gross=round((aah_maximum() + 2) * 1.06, 2))
case("aah_alimony", born=DISABLED, kind="pension_alimentaire", taux=80, net=400.0)
case("aah_79", born=DISABLED, kind="pension_alimentaire", taux=79, net=400.0)


def test_aah_without_work_is_the_maximum_less_the_taxable_pension_of_year_n_minus_2(amounts) -> None:
    """Without work this month, the AAH reads the yearly evaluation: the taxable incomes of N-2 (art. R532-5)."""
    expected = aah_maximum() - given("aah_below", "taxable")
    assert amounts["aah_below"]["aah"] == pytest.approx(expected, abs=0.01) and expected == pytest.approx(30, abs=0.01)
    assert amounts["aah_above"]["aah"] == 0


def test_aah_counts_the_alimony_of_year_n_minus_2_and_needs_80_percent(amounts) -> None:
    """Incomes OpenFisca has one variable for (alimony, invalidity pensions) are given for the previous years
    too: the AAH's yearly evaluation reads them; at 79 % without a recognised restriction there is no AAH."""
    assert amounts["aah_alimony"]["aah"] == pytest.approx(aah_maximum() - 400, abs=0.01)
    assert amounts["aah_79"]["aah"] == 0


# --- Housing aid: a single tenant in Paris (zone 1), her taxable pension of the last twelve months -----------
RENT = 420.0


def housing_aid(taxable_monthly: float) -> float:
    """The monthly housing aid of a single tenant of an unsubsidised dwelling in zone 1 (Paris) without
    dependants: rent and charges retained, less the personal participation P0 + Tp × (R − R0) on the yearly
    resources R (taxable pension less its 10 % allowance, rounded up to 100 €), paid from its minimum, less the
    flat reduction, the rent-based degressivity and the CRDS, rounded down to the euro."""
    p = law()
    al = p.prestations_sociales.aides_logement.allocations_logement
    formula = al.locatif.formule
    allowance = p.impot_revenu.calcul_revenus_imposables.deductions.abatpen
    pension = 12 * taxable_monthly
    resources = math.ceil(round(max(0.0, pension - round(max(allowance.taux * pension, allowance.min))), 2) / 100) * 100
    ceiling = formula.l_plafonds_loyers.par_zone["zone_1"].personnes_seules
    rent = min(RENT, ceiling)
    charges = formula.c_forfait_charges.cas_general.cas_general
    particip = formula.pp_particip_perso
    p0 = max(particip.p0_particip_min.p0_taux * (rent + charges), particip.p0_particip_min.p0_forfait)
    ratio = round(rent / formula.l_plafonds_loyers.par_zone["zone_2"].personnes_seules * 100, 2) / 100
    seuils, taux = particip.tp_taux.tl_loyer.seuils, particip.tp_taux.tl_loyer.taux
    tl = round(taux.tl_taux_3 * (ratio - seuils.seuil_2) + taux.tl_taux_2 * (seuils.seuil_2 - seuils.seuil_1)
               if ratio >= seuils.seuil_2 else max(0.0, taux.tl_taux_2 * (ratio - seuils.seuil_1)), 5)
    tp = particip.tp_taux.tf_taille_famille.metropole.personnes_isolees + tl
    amount = max(0.0, rent + charges - (p0 + tp * max(0.0, resources - particip.r0_abattement.cas_general.taux_seul)))
    if amount < al.locatif.seuils_minimum_versement["non_apl"]:
        return 0.0
    coefficients = al.locatif.coefficients_degressivite_suppression["zone_1"]
    assert round(ceiling * coefficients.degressivite, 2) >= RENT  # no degressivity at this rent
    gross = max(0.0, round(amount, 2) - al.locatif.minoration_forfaitaire)
    crds = math.floor(100 * gross * p.prelevements_sociaux.contributions_sociales.crds) / 100
    return float(math.floor(gross - crds))


@cache
def housing_edge() -> float:
    """The monthly taxable pension at which the aid before its minimum equals the minimum."""
    for cents in range(60_000, 250_000, 100):  # the aid decreases with resources: the first pension below it
        if housing_aid(cents / 100) == 0:
            return cents / 100
    raise AssertionError("no edge found")


case("housing_below", born=EARLY_RETIRED, kind="retraite", statut="locataire", loyer=RENT,
     taxable=round(housing_edge() - 40, 2), net=round((housing_edge() - 40) * 0.97, 2),
     gross=round((housing_edge() - 40) * 1.06, 2))
case("housing_above", born=EARLY_RETIRED, kind="retraite", statut="locataire", loyer=RENT,
     taxable=round(housing_edge() + 20, 2), net=round((housing_edge() + 20) * 0.97, 2),
     gross=round((housing_edge() + 20) * 1.06, 2))


def test_housing_aid_just_below_its_edge_follows_the_legal_formula(amounts) -> None:
    expected = housing_aid(housing_edge() - 40)
    assert expected > 0
    assert amounts["housing_below"]["aide_logement"] == pytest.approx(expected, abs=0.01)


def test_housing_aid_just_above_its_edge_is_nothing(amounts) -> None:
    assert housing_aid(housing_edge() + 20) == 0
    assert amounts["housing_above"]["aide_logement"] == 0


# --- Chèque énergie: the reference tax income of N-2 per consumption unit against the scale -----------------
def energy_scale() -> Any:
    return law().prestations_sociales.solidarite_insertion.autre_solidarite.cheque_energie.baremes.une_uc


def wage_for_reference_income(rfr: float) -> float:
    """The monthly taxable wage of year N-2 whose reference income, after the 10 % allowance, is `rfr`."""
    allowance = law(date(2024, 1, 1)).impot_revenu.calcul_revenus_imposables.deductions.abatpro
    assert allowance.min < rfr / 9 < allowance.max
    return rfr / 0.9 / 12


TOP = energy_scale().thresholds[-1]  # above it, nothing
for name, rfr in (("energy_below", TOP - 120), ("energy_above", TOP + 120)):
    wage = wage_for_reference_income(rfr)
    case(name, born=ADULT, kind="salaire", taxable=round(wage, 2), net=round(wage * 0.97, 2),
         gross=round(wage * 1.26, 2))


def test_cheque_energie_just_below_the_last_threshold_is_its_last_amount(amounts) -> None:
    scale = energy_scale()
    assert scale.amounts[-1] == 0
    assert amounts["energy_below"]["cheque_energie"] == pytest.approx(scale.amounts[-2] / 12, abs=0.01)


def test_cheque_energie_just_above_the_last_threshold_is_nothing(amounts) -> None:
    assert amounts["energy_above"]["cheque_energie"] == 0


# --- Local aid (school canteen): the commune's quotient familial from net resources -------------------------
PARENT = date(1990, 1, 20)
CHILD = date(2019, 4, 2)  # 7
QF_CEILING = 1200  # the shipped rule's last bracket
for name, qf in (("canteen_below", QF_CEILING - 2), ("canteen_above", QF_CEILING + 2)):
    case(name, born=PARENT, kind="salaire", net=qf * 2.5, gross=round(qf * 2.5 * 1.28, 2),
         taxable=round(qf * 2.5 * 1.03, 2), children=(CHILD,))


def canteen(name: str) -> float:
    aid = next(a for a in local_aids.load_folder(local_aids.SHIPPED) if a.key == "tarif_cantine")
    composition = CASES[name]
    figures = domain.key_figures(composition, PERIOD)
    ages = [domain.age(m["date_naissance"], ON) for m in composition["members"]]
    return aid.evaluate(local_aids.facts(composition, figures, [], ages, ""))[0]


def test_canteen_tariff_just_below_its_quotient_familial_ceiling() -> None:
    """A single parent has 2.5 parts (two, and half a part for the first child): net wages of 2.5 × 1,198 €."""
    assert canteen("canteen_below") == 12.0


def test_canteen_tariff_just_above_its_quotient_familial_ceiling_is_nothing() -> None:
    assert canteen("canteen_above") == 0.0
