"""Rights detection, the pure part: a household of the registry as an OpenFisca situation, in the format of
OpenFisca's Web API (`individus`, `familles`, `foyers_fiscaux`, `menages`, each variable by period), so that
anyone can run the same case again in OpenFisca.

The benefits are asked (`null`) for the period and the month before it — a detection must be stable over two
months — and the yearly ones (chèque énergie) for the year. Known administrative inputs are given for those
two months and the twelve before each (the RSA and the prime d'activité read the last quarter, the C2S the
last twelve months): wages, unemployment benefit, pensions, alimony, each as what the source gives — the net
amount always, the gross and the taxable ones when the source has them (the benefits do not read the same one:
`docs/rights.md` lists, per benefit, every input it reads) — so that OpenFisca does not rebuild them from gross
pay (which it would take as zero). What the administration knows to be absent is given as zero
(`KNOWN_ABSENT`), so that OpenFisca does not compute it from nothing: the specific solidarity allowance (ASS)
unless the household receives it,
work-accident annuities, higher-education grants on social criteria unless the person has a grant, the ASI,
the AAH complements unless the household receives the AAH; and, for the months before the screened ones, the
screened benefits themselves when the household does not receive them.
"""

from __future__ import annotations

from datetime import date
from functools import cache
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
    "cheque_energie": ("cheque_energie", "menages", "year"),  # with its dwelling condition (January's status)
}

# Registry resource kinds → OpenFisca monthly inputs, one per amount the source may give: the net amount (every
# feed: the « montant net social »), read by the RSA, the prime d'activité, the C2S and the AAH's quarterly
# evaluation; the gross amount, read by the ASPA (wages and pensions, `asi_aspa_base_ressources_individu`);
# the taxable amount, read by housing aid (last twelve months), the AAH's yearly evaluation and the chèque
# énergie (through the reference tax income). OpenFisca computes net from gross, never gross from net: an
# amount the source does not give is not made up here.
RESOURCE_INPUTS = {"salaire": "salaire_net", "chomage": "chomage_net", "retraite": "retraite_nette",
                   "invalidite": "pensions_invalidite", "pension_alimentaire": "pensions_alimentaires_percues",
                   "independant": "rpns_auto_entrepreneur_benefice", "bourse": "bourse_enseignement_sup"}
GROSS_INPUTS = {"salaire": "salaire_de_base", "chomage": "chomage_brut", "retraite": "retraite_brute"}
TAXABLE_INPUTS = {"salaire": "salaire_imposable", "chomage": "chomage_imposable", "retraite": "retraite_imposable"}
# The benefits that read a kind in gross only: known in net alone, OpenFisca counts it as nothing for them
GROSS_READ = {"aspa": ("salaire", "retraite")}

# Yearly inputs for the three previous years (the chèque énergie reads the reference tax income of year N-2, the
# AAH's yearly evaluation and housing aid the incomes of N-2, the family benefits' resources of a month of N-1
# those of N-3): the taxable incomes — without them OpenFisca would rebuild them from gross pay through the
# payroll and income-tax chains, and with no gross pay known take those years as without any income — and the
# incomes OpenFisca has one variable for (invalidity pensions, alimony; self-employed income as taxable). Their
# level is the current monthly one (taxable when known, else net: an estimate until the tax API's incomes feed
# the registry).
TAXABLE_YEARS_BACK = (3, 2, 1)
YEARLY_INPUTS = {**TAXABLE_INPUTS, "invalidite": "pensions_invalidite",
                 "pension_alimentaire": "pensions_alimentaires_percues", "independant": "rpns_imposables"}

# Person variables the feeds would show when they exist: zero over the years the benefits look back on
# (the C2S reads twelve months), unless the household's benefits or resources say otherwise
KNOWN_ABSENT = {"ass": "ass", "rente_accident_travail": None, "bourse_criteres_sociaux": "bourse", "asi": "asi",
                "caah": "aah", "mva": "aah"}
# The screened benefits as the registry and the feeds name them (what "already receiving" means)
RECEIVED_AS = {"rsa": "rsa", "prime_activite": "prime_activite", "css_gratuite": "css", "css_participation": "css",
               "aide_logement": "aide_logement", "aspa": "aspa", "aah": "aah", "cheque_energie": "cheque_energie"}

OCCUPATION = {"proprietaire": "proprietaire", "locataire": "locataire_vide", "locataire_hlm": "locataire_hlm",
              "loge_gratuitement": "loge_gratuitement", "sans_domicile": "sans_domicile", "": "non_renseigne"}


def previous_months(period: str, count: int = 3) -> list[str]:
    return list(_previous_months(period, count))


@cache
def _previous_months(period: str, count: int) -> tuple[str, ...]:
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        out.append(f"{year:04d}-{month:02d}")
    return tuple(out)


def month_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def screened_months(period: str) -> list[str]:
    """The months a screening asks: the period and the month before (stability)."""
    return [period, previous_months(period, 1)[0]]


def input_months(period: str) -> list[str]:
    """The months whose resources a screening gives: the two screened months and the twelve before each (the
    RSA and the prime d'activité read the last quarter, the C2S the last twelve months)."""
    return [period, *previous_months(period, 13)]


def situation(composition: dict[str, Any], period: str) -> dict[str, Any]:
    """The Web API situation of one household for a month `YYYY-MM`."""
    months = input_months(period)
    asked = screened_months(period)
    year = int(period[:4])
    years = sorted({m[:4] for m in asked})
    individus: dict[str, Any] = {}
    familles: dict[str, dict[str, Any]] = {}
    foyers: dict[str, dict[str, Any]] = {}
    members = composition["members"]
    received = set(composition["benefits_receiving"]) | set(composition["benefits_paid"])
    menage: dict[str, Any] = {"personne_de_reference": [], "conjoint": [], "enfants": [], "autres": []}
    # the AAH a household receives is the most disabled adult's
    aah_holder = max(members, key=lambda m: (m["taux_incapacite"] or 0, m["famille_role"] != "enfant"))["id"] \
        if members else None
    for member in members:
        name = f"p{member['id']}"
        person: dict[str, Any] = {}
        if member["date_naissance"]:
            person["date_naissance"] = {"ETERNITY": member["date_naissance"].isoformat()}
        if member["taux_incapacite"]:
            person["taux_incapacite"] = {m: member["taux_incapacite"] / 100 for m in months}
        kinds = composition["resources"].get(member["id"], {})
        gross = composition.get("gross", {}).get(member["id"], {})
        taxable = composition.get("taxable", {}).get(member["id"], {})
        for kind, by_month in kinds.items():
            _resource_inputs(person, kind, by_month, gross.get(kind, {}), taxable.get(kind, {}), months, year)
        for variable, unless in KNOWN_ABSENT.items():
            if unless is None or (unless not in received and unless not in kinds):
                person[variable] = {str(year - back): 0 for back in (2, 1, 0)}
        person[BENEFITS["aah"][0]] = _asked_and_past("aah", asked, months, composition,
                                                     holder=member["id"] == aah_holder)
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
        for benefit, (variable, entity, _) in BENEFITS.items():
            if entity == "familles":
                famille[variable] = _asked_and_past(benefit, asked, months, composition)
    for foyer in foyers.values():
        if not foyer["declarants"]:
            foyer["declarants"].append(foyer["personnes_a_charge"].pop(0))
    statut = OCCUPATION.get(composition["statut_occupation"] or "", "non_renseigne")
    # every input month (the prime d'activité deducts the housing package of each month of its quarter), and
    # January of the screened years (the chèque énergie reads the dwelling then)
    menage["statut_occupation_logement"] = {m: statut for m in [*months, *(f"{y}-01" for y in years)]}
    if composition["loyer"] is not None:
        menage["loyer"] = {m: composition["loyer"] for m in months}
    if composition["depcom"]:
        menage["depcom"] = {m: composition["depcom"] for m in asked}
    menage[BENEFITS["cheque_energie"][0]] = {y: None for y in years}
    return {"individus": individus, "familles": familles, "foyers_fiscaux": foyers,
            "menages": {f"m{composition['id']}": menage}}


def _resource_inputs(person: dict[str, Any], kind: str, net: dict[str, float], gross: dict[str, float],
                     taxable: dict[str, float], months: list[str], year: int) -> None:
    """One kind of resource of a person as OpenFisca inputs: the net amounts of every input month; the gross ones
    where known (and zero where the person had nothing); the taxable ones of the current year's months (taxable
    when known, else net) and the previous years' level."""
    variable = RESOURCE_INPUTS.get(kind)
    if variable:
        person[variable] = {**person.get(variable, {}), **{m: round(net.get(m, 0.0), 2) for m in months}}
    variable = GROSS_INPUTS.get(kind)
    if variable and gross:
        person[variable] = {**person.get(variable, {}),
                            **{m: round(gross.get(m, 0.0), 2) for m in months if m in gross or not net.get(m)}}
    variable = YEARLY_INPUTS.get(kind)
    known = [v for v in (taxable or net).values() if v]
    if variable and known:  # the current monthly level, as the previous years' income
        level = round(12 * sum(known) / len(known), 2)
        person[variable] = {**person.get(variable, {}), **{str(year - back): level for back in TAXABLE_YEARS_BACK}}
        if kind in TAXABLE_INPUTS:
            person[variable].update({m: round(taxable.get(m, net.get(m, 0.0)), 2) for m in months
                                     if m[:4] == str(year)})


def gross_unknown(composition: dict[str, Any], benefit: str, period: str) -> bool:
    """Whether a parent has a resource the benefit reads in gross that is known only in net over the months it
    reads (the quarter before each screened month): OpenFisca then counts it as nothing for that benefit."""
    kinds = GROSS_READ.get(benefit, ())
    quarter = previous_months(period, 4)
    parents = [m["id"] for m in composition["members"] if m["famille_role"] != "enfant"]
    for person in parents:
        gross = composition.get("gross", {}).get(person, {})
        for kind, by_month in composition["resources"].get(person, {}).items():
            if kind in kinds and any(by_month.get(m) and m not in gross.get(kind, {}) for m in quarter):
                return True
    return False


def _asked_and_past(benefit: str, asked: list[str], months: list[str], composition: dict[str, Any],
                    holder: bool = True) -> dict[str, Any]:
    """A monthly benefit: asked for the screened months; for the months before, what the household received —
    the feed's payment of the month, else the receipt's monthly amount while it runs, else nothing (OpenFisca
    would otherwise compute it month by month for the resources of other benefits, as if it had been claimed).
    Every household gives every past month, so that a chunk's arrays hold the same inputs as each household
    alone (an input given for some households of a chunk is an input, zero by default, for all of them).
    The C2S: free while the receipt's amount is nil, with participation while it is not. `holder`: for a
    benefit of one person in the household (the AAH), whether this person is the one who receives it."""
    received = _received_by_month(composition, RECEIVED_AS[benefit], months) if holder else {}
    values: dict[str, Any] = {}
    for m in months:
        if m in asked:
            values[m] = None
        elif benefit == "css_gratuite":
            values[m] = m in received and received[m] == 0
        else:
            values[m] = received.get(m, 0)
    return values


def _received_by_month(composition: dict[str, Any], key: str, months: list[str]) -> dict[str, float]:
    """The months a benefit was received (feed payments first, else a receipt running that month) and how much."""
    paid = composition["benefits_paid"].get(key, {})
    receipt = composition["benefits_receiving"].get(key)
    out: dict[str, float] = {}
    for m in months:
        if m in paid:
            out[m] = round(float(paid[m]), 2)
        elif receipt and _runs(receipt, m):
            out[m] = round(float(receipt.get("monthly_amount") or 0.0), 2)
    return out


def _runs(receipt: dict[str, Any], month: str) -> bool:
    since, until = receipt.get("since"), receipt.get("until")
    return (since is None or since.strftime("%Y-%m") <= month) and (until is None or until.strftime("%Y-%m") >= month)


def asked_for(period: str) -> list[tuple[str, str]]:
    """What every household's situation asks for a period: each benefit for the screened months (the yearly
    ones for their years)."""
    months = screened_months(period)
    return [(variable, period_) for variable, _, kind in BENEFITS.values()
            for period_ in (months if kind == "month" else sorted({m[:4] for m in months}))]


def asked(situation: dict[str, Any]) -> list[tuple[str, str]]:
    """The `(variable, period)` pairs a situation asks (its `null` values), each once."""
    out: dict[tuple[str, str], None] = {}
    for instances in situation.values():
        for variables in instances.values():
            for name, by_period in variables.items():
                if isinstance(by_period, dict):
                    for period, value in by_period.items():
                        if value is None:
                            out[(name, period)] = None
    return list(out)


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


# --- why: reasons, key amounts, what was missing, confidence ----------------------------------------
REASONS = {
    "stable_deux_mois": "Éligible ce mois-ci et le mois précédent",
    "ressources_faibles": "Ressources du foyer sous le plafond de la prestation",
    "sans_activite": "Aucun revenu d'activité sur le trimestre",
    "revenus_activite": "Revenus d'activité modestes",
    "parent_isole": "Parent seul avec enfant(s) à charge",
    "enfants_a_charge": "Enfant(s) à charge",
    "locataire": "Locataire avec un loyer connu",
    "age_65_ans": "Au moins une personne de 65 ans ou plus",
    "incapacite_80": "Taux d'incapacité d'au moins 80 %",
    "incapacite_50_79": "Taux d'incapacité de 50 à 79 %",
    "revenu_fiscal_modeste": "Revenu fiscal de référence modeste",
    "css_gratuite": "Ressources sous le plafond de la C2S sans participation",
}
MISSING = {
    "date_naissance": "Date de naissance inconnue pour un membre du foyer",
    "loyer": "Loyer inconnu pour un foyer locataire",
    "ressources_inconnues": "Adulte sans aucune ressource connue (revenus nuls ou non transmis ?)",
    "ressources_declarees": "Ressources déclarées au registre, pas issues des flux mensuels",
    "quotient_familial_estime": "Quotient familial estimé par la commune (à confirmer auprès de la CAF)",
    "montant_brut": "Pension ou salaire connu en net seulement : la prestation se calcule sur le brut",
}
# What makes an amount unreliable, not only less sure: no detection then (the ASPA reads gross pensions — known
# in net alone, OpenFisca counts them as nothing and finds the full allowance)
UNRELIABLE = {"montant_brut"}
# National orders of magnitude a commune's figures are read beside: the share of households receiving the benefit
# (France, about 30.6 million households) and its non-take-up rate, rounded, with their source. A commune's share
# eligible is about the share receiving divided by the take-up rate; far from it, look at the inputs first.
NATIONAL: dict[str, tuple[float, float | None, str]] = {
    "rsa": (6.0, 34.0, "CNAF 2024 : 1,85 M foyers ; DREES 2022 : non-recours 34 %"),
    "prime_activite": (15.0, 30.0, "CNAF 2024 : 4,6 M foyers ; DREES : non-recours environ 30 %"),
    "css_gratuite": (8.5, 37.0, "CNAM 2023 : 5,8 M personnes (part des personnes) ; DREES : non-recours 30 à 44 %"),
    "css_participation": (2.2, 44.0, "CNAM 2023 : 1,5 M personnes (part des personnes) ; DREES : non-recours 30 à "
                                     "44 %"),
    "aide_logement": (19.0, 10.0, "CNAF 2024 : 5,8 M foyers"),
    "aspa": (2.2, 50.0, "DREES 2023 : 0,7 M allocataires, environ 4 % des 65 ans et plus ; non-recours 50 %"),
    "aah": (4.4, None, "DREES 2023 : 1,35 M allocataires"),
    "cheque_energie": (18.0, 20.0, "Ministère de la transition énergétique 2024 : 5,6 M ménages ; 20 % non utilisés"),
}
CONFIDENCE = ("haute", "moyenne", "faible")
RESOURCE_BENEFITS = {"rsa", "prime_activite", "css_gratuite", "css_participation", "aide_logement", "aspa"}


def age(born: date | None, on: date) -> int | None:
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def key_figures(composition: dict[str, Any], period: str) -> dict[str, Any]:
    """What the explanation shows: the household and its average monthly resources over the quarter."""
    on = month_start(period)
    quarter = previous_months(period)
    ages = [age(m["date_naissance"], on) for m in composition["members"]]
    by_kind: dict[str, float] = {}
    for kinds in composition["resources"].values():
        for kind, by_month in kinds.items():
            by_kind[kind] = round(by_kind.get(kind, 0.0) + sum(by_month.get(m, 0.0) for m in quarter) / 3, 2)
    children = sum(1 for m in composition["members"] if m["famille_role"] == "enfant")
    return {"personnes": len(composition["members"]), "enfants": children,
            "adultes": len(composition["members"]) - children,
            "age_max": max((a for a in ages if a is not None), default=None),
            "taux_incapacite_max": max((m["taux_incapacite"] or 0 for m in composition["members"]), default=0),
            "ressources_mensuelles": by_kind, "ressources_total": round(sum(by_kind.values()), 2),
            "statut_occupation": composition["statut_occupation"] or "", "loyer": composition["loyer"],
            "source_ressources": ("flux mensuels" if composition["fed"] else
                                  "registre" if composition["resources"] else "aucune")}


def explain(composition: dict[str, Any], benefit: str, amount: float, previous: float, period: str,
            figures: dict[str, Any] | None = None) -> tuple[list[str], list[str], str]:
    """Reason codes, missing inputs and a confidence level for one household's possible right (`figures`: its
    `key_figures`, when already computed)."""
    figures = figures or key_figures(composition, period)
    on = month_start(period)
    reasons = ["stable_deux_mois"] if amount > 0 and previous > 0 else []
    wages = figures["ressources_mensuelles"].get("salaire", 0) + figures["ressources_mensuelles"].get(
        "independant", 0)
    if benefit in RESOURCE_BENEFITS:
        reasons.append("ressources_faibles")
    if benefit == "rsa" and not wages:
        reasons.append("sans_activite")
    if benefit == "prime_activite" and wages:
        reasons.append("revenus_activite")
    if benefit in ("rsa", "prime_activite") and figures["enfants"]:
        reasons.append("parent_isole" if figures["adultes"] == 1 else "enfants_a_charge")
    if benefit == "aide_logement" and figures["loyer"]:
        reasons.append("locataire")
    if benefit == "aspa" and (figures["age_max"] or 0) >= 65:
        reasons.append("age_65_ans")
    if benefit == "aah":
        reasons.append("incapacite_80" if figures["taux_incapacite_max"] >= 80 else "incapacite_50_79")
    if benefit == "cheque_energie":
        reasons.append("revenu_fiscal_modeste")
    if benefit == "css_gratuite":
        reasons.append("css_gratuite")
    missing = []
    if any(m["date_naissance"] is None for m in composition["members"]):
        missing.append("date_naissance")
    if benefit == "aide_logement" and composition["statut_occupation"] in ("locataire", "locataire_hlm") \
            and composition["loyer"] is None:
        missing.append("loyer")
    if benefit in RESOURCE_BENEFITS:
        for member in composition["members"]:
            years = age(member["date_naissance"], on)
            if years is not None and 18 <= years < 65 and not composition["resources"].get(member["id"]):
                missing.append("ressources_inconnues")
                break
        if composition["resources"] and not composition["fed"]:
            missing.append("ressources_declarees")
    if gross_unknown(composition, benefit, period):
        missing.append("montant_brut")
    weight = sum(2 if code in ("ressources_inconnues", "montant_brut") else 1 for code in missing)
    confidence = CONFIDENCE[min(weight, 2)]
    return reasons, missing, confidence


def beside_national(summary: dict[str, dict[str, float]], households: int) -> dict[str, dict[str, Any]]:
    """A screening's figures as shares of the households screened, beside the national orders of magnitude."""
    out: dict[str, dict[str, Any]] = {}
    for benefit, figures in summary.items():
        if benefit not in NATIONAL or not households:
            continue
        receiving, non_take_up, source = NATIONAL[benefit]
        eligible = figures["eligible"]
        out[benefit] = {"eligible_percent": round(100 * eligible / households, 1),
                        "detected_percent": round(100 * figures["detected"] / households, 1),
                        "detected_of_eligible_percent": round(100 * figures["detected"] / eligible, 1) if eligible
                        else None,
                        "national_receiving_percent": receiving, "national_non_take_up_percent": non_take_up,
                        "national_eligible_percent": round(receiving / (1 - non_take_up / 100), 1) if non_take_up
                        else None,
                        "source": source}
    return out
