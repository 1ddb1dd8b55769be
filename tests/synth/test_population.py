"""The synthetic commune: deterministic, realistic, valid."""

from collections import Counter
from datetime import UTC, date, datetime

import numpy as np
import pytest

from proactif.registry import domain
from proactif.rights import services as rights
from proactif.synth import _claims as claims
from proactif.synth import _law as legislation
from proactif.synth import _population as population
from proactif.synth import domain as facts
from proactif.synth.services import _names

TODAY = date(2026, 11, 28)


def context(seed: int = 5) -> population.Context:
    surnames, first_f, first_m = _names()
    return population.Context(seed=seed, today=TODAY, now=datetime(2026, 11, 28, 9, tzinfo=UTC),
                              address_ids=np.arange(1, 2000), surnames=surnames, first_names_f=first_f,
                              first_names_m=first_m, postgres=False, law=legislation.read(TODAY, ("75115",)),
                              address_codes=("75115",) * 1999)


@pytest.fixture(scope="module")
def commune() -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {}
    for chunk in range(4):
        for kind, items in population.generate_chunk(context(), chunk, 5000, 10**9).rows.items():
            rows.setdefault(kind, []).extend(items)
    return rows


def residents(commune: dict) -> list[tuple]:
    return [r for r in commune["person"] if r[17] == "synth"]


def test_same_seed_same_commune_and_another_seed_another() -> None:
    a = population.generate_chunk(context(5), 3, 300, 10**9).rows
    b = population.generate_chunk(context(5), 3, 300, 10**9).rows
    c = population.generate_chunk(context(6), 3, 300, 10**9).rows
    assert a == b
    assert a["person"] != c["person"]


def test_age_pyramid_is_close_to_insee(commune: dict) -> None:
    ages = [domain.age_on(date.fromisoformat(r[5]), TODAY) for r in residents(commune)]
    for (low, high), share in facts.INSEE_PYRAMID.items():
        observed = sum(low <= a <= high for a in ages) / len(ages)
        assert abs(observed - share) < 0.035, ((low, high), round(observed, 3), share)


def test_household_compositions(commune: dict) -> None:
    sizes = Counter(r[10] for r in residents(commune))
    households = len(commune["household"])
    assert 2.0 < len(residents(commune)) / households < 2.3
    assert 0.33 < sum(1 for n in sizes.values() if n == 1) / households < 0.42
    alone_elderly = [r for r in residents(commune)
                     if sizes[r[10]] == 1 and domain.age_on(date.fromisoformat(r[5]), TODAY) >= 65]
    assert len(alone_elderly) / len(residents(commune)) > 0.05
    single_parents = {r[10] for r in residents(commune) if r[11] == "enfant"} - \
        {r[10] for r in residents(commune) if r[11] == "conjoint"}
    assert 0.06 < len(single_parents) / households < 0.13


def test_contacts_are_valid_and_missing_at_realistic_rates(commune: dict) -> None:
    for _pid, kind, value, mobile, *_ in commune["contact"][:3000]:
        if kind == "email":
            assert domain.normalise_email("email", value) == value
        else:
            assert domain.normalise_phone("telephone", value) == domain.Phone(value, mobile)
    with_email = {r[0] for r in commune["contact"] if r[1] == "email"}
    ages = {r[0]: domain.age_on(date.fromisoformat(r[5]), TODAY) for r in residents(commune)}

    def share(low: int, high: int) -> float:
        group = [pid for pid, age in ages.items() if low <= age <= high]
        return sum(pid in with_email for pid in group) / len(group)

    assert share(30, 44) > 0.85 and share(85, 120) < 0.3 and share(0, 10) == 0


def test_nirs_are_valid_and_match_the_identity(commune: dict) -> None:
    for r in residents(commune)[:5000]:
        if r[8]:
            assert domain.normalise_nir("nir", r[8], sexe=r[4], born=date.fromisoformat(r[5])) == r[8]


def test_identity_documents_follow_the_legal_validity(commune: dict) -> None:
    born = {r[0]: date.fromisoformat(r[5]) for r in commune["person"]}
    kinds = Counter()
    for pid, kind, numero, issued, expires, status, *_ in commune["document"]:
        kinds[kind] += 1
        if kind in ("cni", "passeport"):
            issued_on, expires_on = date.fromisoformat(issued), date.fromisoformat(expires)
            assert domain.default_expiry(kind, issued_on, born[pid]) == expires_on
            assert domain.check_document_number("numero", kind, numero) == numero
            assert status == ("expire" if expires_on < TODAY else "valide")
            assert issued_on <= TODAY and issued_on > born[pid]
    adults = sum(1 for r in residents(commune) if domain.age_on(date.fromisoformat(r[5]), TODAY) >= 18)
    assert 0.8 < kinds["cni"] / adults < 1.05
    assert kinds["carte_piscine"] > 0 and kinds["permis_stationnement"] > 0


def test_a_realistic_share_of_eligible_households_do_not_claim() -> None:
    truth: dict[str, dict[str, int]] = {}
    for chunk in range(4):
        for benefit, entry in population.generate_chunk(context(), chunk, 5000, 10**9).truth.items():
            for key, value in entry.items():
                truth.setdefault(benefit, {"eligible": 0, "receiving": 0})[key] += value
    for benefit in ("rsa", "css_gratuite", "aspa", "prime_activite", "aide_logement", "cheque_energie"):
        entry = truth[benefit]
        not_claiming = 1 - entry["receiving"] / entry["eligible"]
        assert abs(not_claiming - (1 - facts.TAKE_UP[benefit])) < 0.08, (benefit, entry)


def test_the_commune_is_cut_to_the_exact_number_of_residents() -> None:
    rows = population.generate_chunk(context(), 0, 5000, 777).rows
    assert sum(1 for r in rows["person"] if r[17] == "synth") == 777


def adult(age: int, *, wage: float = 0.0, pension: float = 0.0, taux: int = 0) -> claims.Adult:
    """An adult with a gross monthly wage or pension, net and taxable as OpenFisca-France computes them."""
    law = legislation.read(TODAY, ())
    wage_net, wage_taxable = law.wages.at(wage) if wage else (0.0, 0.0)
    pension_net, pension_taxable = law.pensions.at(pension) if pension else (0.0, 0.0)
    return claims.Adult(age, wage_net, pension_net, wage + pension, wage_taxable + pension_taxable, wage_taxable,
                        taux)


def test_claims_follow_the_legislation_read_from_openfisca() -> None:
    law = legislation.read(TODAY, ("75115",))
    p = rights.legislation(TODAY)  # the parameter tree itself
    assert law.rsa == p.prestations_sociales.solidarite_insertion.minima_sociaux.rsa.rsa_m.montant_de_base_du_rsa
    assert law.zones == {"75115": "zone_1"}
    nobody_earns = claims.claims(law, [adult(40)], 0, "proprietaire", None, "zone_1")
    assert nobody_earns["rsa"] == pytest.approx(law.rsa * (1 - law.rsa_housing[0]))
    assert nobody_earns["css_gratuite"] == 1.0 and "aide_logement" not in nobody_earns
    tenant = claims.claims(law, [adult(40)], 0, "locataire_hlm", 450.0, "zone_1")
    assert tenant["aide_logement"] > 0  # an RSA beneficiary's resources are nil for housing aid
    assert tenant["rsa"] == pytest.approx(law.rsa - min(tenant["aide_logement"], law.rsa * law.rsa_housing[0]))
    retired = claims.claims(law, [adult(72, pension=700)], 0, "proprietaire", None, "zone_1")
    assert retired["aspa"] == pytest.approx(law.aspa_ceiling[0] - 700) and "rsa" not in retired
    # the ASPA reads the gross pension: just above its ceiling in gross, nothing, whatever the net
    assert "aspa" not in claims.claims(law, [adult(72, pension=law.aspa_ceiling[0] + 5)], 0, "proprietaire", None,
                                       "zone_1")
    comfortable = claims.claims(law, [adult(45, wage=4500), adult(44, wage=3600)], 3, "proprietaire", None,
                                "zone_1")
    assert set(comfortable) == {"af"}
    assert comfortable["af"] == pytest.approx(law.family_base * (law.family_rates[0] + law.family_rates[1]))
    disabled = claims.claims(law, [adult(35, taux=80)], 0, "loge_gratuitement", None, "zone_1")
    assert disabled["aah"] == pytest.approx(law.aah)
    assert "aah" not in claims.claims(law, [adult(35, taux=79)], 0, "loge_gratuitement", None, "zone_1")


def test_net_and_taxable_amounts_are_those_openfisca_computes_from_gross() -> None:
    law = legislation.read(TODAY, ())
    month = TODAY.strftime("%Y-%m")
    gross = (1234.0, 2750.0, 5100.0)  # between the grid's points
    situation = {"individus": {f"p{i}": {"salaire_de_base": {month: g}} for i, g in enumerate(gross)},
                 "familles": {f"f{i}": {"parents": [f"p{i}"]} for i in range(len(gross))},
                 "foyers_fiscaux": {f"t{i}": {"declarants": [f"p{i}"]} for i in range(len(gross))},
                 "menages": {f"m{i}": {"personne_de_reference": [f"p{i}"]} for i in range(len(gross))}}
    computed = rights.calculate(situation, [("salaire_net", month), ("salaire_imposable", month)])
    for i, g in enumerate(gross):
        net, taxable = law.wages.at(g)
        assert net == pytest.approx(float(computed[("salaire_net", month)][i]), abs=1.0)
        assert taxable == pytest.approx(float(computed[("salaire_imposable", month)][i]), abs=1.0)
    assert 0.75 < law.wages.at(2700)[0] / 2700 < 0.82  # a private-sector employee's contributions, about 22 %
