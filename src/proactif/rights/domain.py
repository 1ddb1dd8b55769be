"""Rights detection, the pure part: a household of the registry as an OpenFisca situation, in the format of
OpenFisca's Web API (`individus`, `familles`, `foyers_fiscaux`, `menages`, each variable by period), so that
anyone can run the same case again in OpenFisca.

Known administrative inputs are given for the three months before the period (OpenFisca's RSA and prime
d'activité read resources over the previous quarter): net wages, unemployment benefit, pensions, alimony —
OpenFisca then does not rebuild them from gross pay. The benefits to compute are asked for the period
(`null`), the yearly ones (chèque énergie) for the year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

# The benefits the screening computes: OpenFisca variable, entity, period kind
BENEFITS: dict[str, tuple[str, str, str]] = {
    "rsa": ("rsa", "familles", "month"),
    "prime_activite": ("ppa", "familles", "month"),
    "css_gratuite": ("cmu_c", "familles", "month"),
    "css_participation": ("css_participation_forfaitaire", "familles", "month"),
    "aide_logement": ("aide_logement", "familles", "month"),
    "aspa": ("aspa", "familles", "month"),
    "aah": ("aah", "individus", "month"),
    "cheque_energie": ("cheque_energie_montant", "menages", "year"),
}

# Registry resource kinds → OpenFisca monthly inputs (net amounts, as the feeds give them)
RESOURCE_INPUTS = {"salaire": "salaire_net", "chomage": "chomage_net", "retraite": "retraite_nette",
                   "invalidite": "pensions_invalidite", "pension_alimentaire": "pensions_alimentaires_percues",
                   "independant": "rpns_imposables", "bourse": "bourse_enseignement_sup"}

# Registry resource kinds → OpenFisca taxable incomes, given for the two previous years (the chèque énergie
# reads the reference tax income of year N-2, the C2S and housing aid the last twelve months): without them
# OpenFisca would take those years as without any income
YEARLY_INPUTS = {"salaire": "salaire_imposable", "chomage": "chomage_imposable", "retraite": "retraite_imposable"}

OCCUPATION = {"proprietaire": "proprietaire", "locataire": "locataire_vide", "locataire_hlm": "locataire_hlm",
              "loge_gratuitement": "loge_gratuitement", "sans_domicile": "sans_domicile", "": "non_renseigne"}


def previous_months(period: str, count: int = 3) -> list[str]:
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year:04d}-{month:02d}")
    return out


def month_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def situation(composition: dict[str, Any], period: str) -> dict[str, Any]:
    """The Web API situation of one household for a month `YYYY-MM`."""
    months = [period, *previous_months(period)]
    year = period[:4]
    individus: dict[str, Any] = {}
    familles: dict[str, dict[str, Any]] = {}
    foyers: dict[str, dict[str, Any]] = {}
    members = composition["members"]
    menage: dict[str, Any] = {"personne_de_reference": [], "conjoint": [], "enfants": [], "autres": []}
    for member in members:
        name = f"p{member['id']}"
        person: dict[str, Any] = {}
        if member["date_naissance"]:
            person["date_naissance"] = {"ETERNITY": member["date_naissance"].isoformat()}
        if member["taux_incapacite"]:
            person["taux_incapacite"] = {m: member["taux_incapacite"] / 100 for m in months}
        for kind, by_month in composition["resources"].get(member["id"], {}).items():
            variable = RESOURCE_INPUTS.get(kind)
            if variable:
                values = {m: round(by_month.get(m, 0.0), 2) for m in months}
                person[variable] = {**person.get(variable, {}), **values}
            yearly = YEARLY_INPUTS.get(kind)
            known = [v for v in by_month.values() if v]
            if yearly and known:  # the current monthly level, as the previous years' taxable income
                level = round(12 * sum(known) / len(known), 2)
                person[yearly] = {str(int(year) - back): level for back in (1, 2)}
        person[BENEFITS["aah"][0]] = {period: None}
        individus[name] = person
        famille = familles.setdefault(f"f{member['famille_id'] or 'seul' + str(member['id'])}",
                                      {"parents": [], "enfants": []})
        famille["enfants" if member["famille_role"] == "enfant" else "parents"].append(name)
        foyer = foyers.setdefault(f"ff{member['foyer_fiscal_id'] or 'seul' + str(member['id'])}",
                                  {"declarants": [], "personnes_a_charge": []})
        foyer["personnes_a_charge" if member["foyer_role"] == "personne_a_charge" else "declarants"].append(name)
        role = {"personne_de_reference": "personne_de_reference", "conjoint": "conjoint",
                "enfant": "enfants"}.get(member["menage_role"], "autres")
        if role == "personne_de_reference" and menage["personne_de_reference"]:
            role = "autres"
        menage[role].append(name)
    if not menage["personne_de_reference"]:  # OpenFisca needs one: the first adult member
        first = next(iter(individus))
        for group in ("autres", "conjoint", "enfants"):
            if first in menage[group]:
                menage[group].remove(first)
        menage["personne_de_reference"] = [first]
    for famille in familles.values():
        if not famille["parents"]:  # children alone in a famille: the eldest stands as its parent
            famille["parents"].append(famille["enfants"].pop(0))
        for variable, entity, _ in BENEFITS.values():
            if entity == "familles":
                famille[variable] = {period: None}
    for foyer in foyers.values():
        if not foyer["declarants"]:
            foyer["declarants"].append(foyer["personnes_a_charge"].pop(0))
    menage["statut_occupation_logement"] = {period: OCCUPATION.get(composition["statut_occupation"] or "",
                                                                   "non_renseigne")}
    if composition["loyer"] is not None:
        menage["loyer"] = {m: composition["loyer"] for m in months}
    if composition["depcom"]:
        menage["depcom"] = {period: composition["depcom"]}
    menage[BENEFITS["cheque_energie"][0]] = {year: None}
    return {"individus": individus, "familles": familles, "foyers_fiscaux": foyers,
            "menages": {f"m{composition['id']}": menage}}


def amounts(results: dict[str, Any], period: str) -> dict[str, float]:
    """Monthly amounts per screened benefit from a computed Web API situation (yearly ones divided by 12;
    booleans — free C2S — as 1.0 or 0.0)."""
    out: dict[str, float] = {}
    for key, (variable, entity, kind) in BENEFITS.items():
        total = 0.0
        for values in results.get(entity, {}).values():
            value = values.get(variable, {}).get(period if kind == "month" else period[:4])
            if value is None:
                continue
            total += float(value) / (12 if kind == "year" else 1)
        out[key] = round(total, 2)
    return out
