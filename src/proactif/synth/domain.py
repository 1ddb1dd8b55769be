"""Facts the synthetic commune is calibrated on, and the small pure rules it applies.

Shares and amounts are rounded public figures (INSEE recensement 2020–2022, DREES non-recours,
CAF/CNAV barèmes 2025). They make the synthetic population look like a French commune; they are
not the legislation: rights are computed by OpenFisca in the screening, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Household types (share of households, INSEE 2020): single, couple without children, couple with
# children, single parent, other (flatmates, several adults).
HOUSEHOLD_TYPES = ("single", "couple", "couple_children", "single_parent", "other")
HOUSEHOLD_SHARES = (0.37, 0.28, 0.23, 0.09, 0.03)

# Age of a person living alone: (low, high, weight) — many young adults and many elderly people.
SINGLE_AGES = ((18, 29, 0.17), (30, 49, 0.19), (50, 64, 0.25), (65, 79, 0.25), (80, 100, 0.14))
COUPLE_AGES = ((22, 39, 0.13), (40, 59, 0.22), (60, 74, 0.45), (75, 95, 0.2))
PARENT_AGES = ((22, 34, 0.2), (35, 44, 0.38), (45, 59, 0.42))
CHILDREN_COUNTS = {"couple_children": ((1, 0.44), (2, 0.39), (3, 0.13), (4, 0.04)),
                   "single_parent": ((1, 0.56), (2, 0.32), (3, 0.12))}

# Target pyramid (share of the population by 5-year band, INSEE 2024, rounded) — the seed is
# checked against it in the tests.
INSEE_PYRAMID = {
    (0, 17): 0.21, (18, 24): 0.085, (25, 39): 0.175, (40, 54): 0.19, (55, 64): 0.13, (65, 74): 0.115,
    (75, 120): 0.095,
}

# Contact coverage by age (probability of having an e-mail / a mobile phone).
EMAIL_BY_AGE = ((0, 14, 0.0), (15, 17, 0.35), (18, 29, 0.93), (30, 44, 0.91), (45, 59, 0.86), (60, 74, 0.72),
                (75, 84, 0.45), (85, 120, 0.18))
MOBILE_BY_AGE = ((0, 10, 0.0), (11, 14, 0.55), (15, 17, 0.9), (18, 74, 0.93), (75, 84, 0.76), (85, 120, 0.52))
LANDLINE_65_PLUS = 0.42
# Allocated French mobile blocks (06 and 07, ARCEP); 06 39 is left out: it holds the range reserved
# for fiction, and 069x is mostly unallocated. Weighted 70/30 between 06 and 07 by repetition.
MOBILE_PREFIXES = tuple([f"6{n:02d}" for n in range(90) if n != 39] * 2 + [f"7{n}" for n in range(30, 100)])

# Document ownership.
CNI_ADULT, CNI_MINOR = 0.9, 0.45
PASSPORT_ADULT, PASSPORT_MINOR = 0.45, 0.2
POOL_PASS = 0.07
PARKING_PERMIT_HOUSEHOLD = 0.06

# Labour market (share of people aged 18–64 not in education).
EMPLOYED, UNEMPLOYED = 0.72, 0.075
STUDENT_18_24 = 0.52
MEDIAN_NET_WAGE, WAGE_SIGMA = 2100.0, 0.5
MEDIAN_PENSION, PENSION_SIGMA = 1550.0, 0.45
SMIC_NET = 1430.0

# Benefit amounts (monthly, 2025 barèmes rounded) and take-up (1 − non-recours, DREES).
RSA_BASE = 646.52
PRIME_ACTIVITE_BASE = 633.21
AAH_MAX = 1033.32
ASPA_SINGLE, ASPA_COUPLE = 1034.28, 1605.73
AF_2, AF_3, AF_EXTRA = 151.05, 344.57, 193.50
CSS_FREE_CEILING_SINGLE = 847.0
TAKE_UP = {"rsa": 0.66, "prime_activite": 0.68, "aah": 0.9, "aspa": 0.5, "css": 0.56, "aide_logement": 0.9,
           "af": 0.98}

# Consent decisions recorded for adults: purpose -> (P(granted), P(denied)).
CONSENT_RATES = {"rappels_echeances": (0.16, 0.03), "alertes": (0.27, 0.01), "information": (0.22, 0.06),
                 "droits": (0.0, 0.04), "personnalisation": (0.1, 0.03)}
VEILLE_SANTE_ELDERLY_ALONE = 0.32

DISABILITY_50, DISABILITY_80 = 0.03, 0.02
MOVED_OUT, DECEASED = 0.01, 0.004

EMAIL_DOMAINS = ("orange.example", "gmail.example", "free.example", "laposte.example", "sfr.example",
                 "hotmail.example", "yahoo.example", "wanadoo.example")

# Birthplaces: (code INSEE, libellé) — major French communes, then countries (code 99xxx).
BIRTH_COMMUNES = (
    ("75056", "Paris"), ("13055", "Marseille"), ("69123", "Lyon"), ("31555", "Toulouse"), ("06088", "Nice"),
    ("44109", "Nantes"), ("67482", "Strasbourg"), ("34172", "Montpellier"), ("33063", "Bordeaux"),
    ("59350", "Lille"), ("35238", "Rennes"), ("51454", "Reims"), ("76351", "Le Havre"), ("42218", "Saint-Étienne"),
    ("83137", "Toulon"), ("38185", "Grenoble"), ("21231", "Dijon"), ("49007", "Angers"), ("30189", "Nîmes"),
    ("92012", "Boulogne-Billancourt"), ("92040", "Issy-les-Moulineaux"), ("93066", "Saint-Denis"),
    ("94028", "Créteil"), ("78646", "Versailles"), ("2A004", "Ajaccio"), ("97411", "Saint-Denis (La Réunion)"),
)
BIRTH_COUNTRIES = (("99350", "Maroc"), ("99352", "Algérie"), ("99351", "Tunisie"), ("99139", "Portugal"),
                   ("99127", "Italie"), ("99134", "Espagne"), ("99109", "Allemagne"), ("99216", "Chine"),
                   ("99341", "Sénégal"), ("99335", "Mali"), ("99208", "Turquie"), ("99132", "Royaume-Uni"))
BORN_ABROAD = 0.13

STREET_TYPES = (("Rue", 0.55), ("Avenue", 0.1), ("Boulevard", 0.05), ("Place", 0.05), ("Allée", 0.06),
                ("Impasse", 0.05), ("Passage", 0.04), ("Villa", 0.03), ("Quai", 0.02), ("Square", 0.03),
                ("Chemin", 0.02))
STREET_THEMES = ("des Lilas", "des Tilleuls", "du Moulin", "de la Gare", "des Écoles", "de la Mairie",
                 "du Marché", "des Vignes", "de la Fontaine", "des Peupliers", "du Château", "de la Paix",
                 "de la République", "de la Liberté", "des Roses", "du Stade", "de l'Église", "des Acacias",
                 "du Lavoir", "des Jardins", "de la Source", "des Cerisiers", "du Parc", "des Artisans",
                 "du Pont", "de la Poste", "des Prés", "des Chênes", "du Port", "de la Forge", "des Tanneurs",
                 "des Marronniers", "de la Croix", "du Puits", "des Saules", "de l'Abbaye", "du Canal")


@dataclass(frozen=True)
class AgeBand:
    low: int
    high: int
    weight: float


def rsa_forfait(adults: int, children: int) -> float:
    """RSA montant forfaitaire by household composition (majoration 50 % for the second person,
    30 % for the third and each further child up to the fourth person, 40 % beyond)."""
    persons = adults + children
    factor = 1.0
    if persons >= 2:
        factor += 0.5
    if persons >= 3:
        factor += 0.3
    if persons >= 4:
        factor += 0.3 if adults == 2 or persons == 4 else 0.4
    factor += 0.4 * max(0, persons - 4)
    return RSA_BASE * factor


def forfait_logement(persons: int) -> float:
    return RSA_BASE * (0.12 if persons == 1 else 0.16 if persons == 2 else 0.165)


def allocations_familiales(children: int) -> float:
    if children < 2:
        return 0.0
    if children == 2:
        return AF_2
    return AF_3 + AF_EXTRA * (children - 3)


def prime_activite(earnings: float, other_resources: float, adults: int, children: int) -> float:
    """A rounded prime d'activité: forfait + 61 % of earnings + bonus, minus resources (floored at 0)."""
    if earnings < 0.3 * SMIC_NET or earnings > 1.8 * SMIC_NET * (1 + 0.5 * (adults - 1) + 0.3 * children):
        return 0.0
    forfait = PRIME_ACTIVITE_BASE * (1 + 0.5 * (adults + children - 1))
    bonus = min(184.27, max(0.0, (earnings - 0.5 * SMIC_NET) / (0.5 * SMIC_NET)) * 184.27)
    amount = forfait + 0.61 * earnings + bonus - earnings - other_resources
    return max(0.0, amount)


def css_ceiling(persons: int) -> float:
    """Monthly resource ceiling of the free complémentaire santé solidaire."""
    factors = {1: 1.0, 2: 1.5, 3: 1.8, 4: 2.1}
    return CSS_FREE_CEILING_SINGLE * factors.get(persons, 2.1 + 0.4 * (persons - 4))


@dataclass(frozen=True)
class Adult:
    age: int
    earnings: float  # monthly net earned income
    other: float  # pensions, unemployment benefit, grants
    taux: int  # taux d'incapacité


def possible_claims(adults: list[Adult], children: int, occupation: str, rent: float | None) -> dict[str, float]:
    """The benefits a famille could claim, with rounded monthly amounts (0 for the CSS, a coverage)."""
    if not adults:
        return {}
    earnings = sum(a.earnings for a in adults)
    other = sum(a.other for a in adults)
    resources = earnings + other
    persons = len(adults) + children
    claims: dict[str, float] = {}
    aide_logement = 0.0
    tenant = occupation in ("locataire", "locataire_hlm") and rent
    if tenant and rent and resources < SMIC_NET * (1.1 + 0.35 * (persons - 1)):
        aide_logement = min(rent * 0.75, max(0.0, 120 + 95 * persons - 0.28 * resources))
        if aide_logement >= 15:
            claims["aide_logement"] = aide_logement
    if max(a.age for a in adults) >= 25 or children:
        housed = occupation in ("proprietaire", "loge_gratuitement")
        deduction = forfait_logement(persons) if (housed or aide_logement) else 0.0
        rsa = rsa_forfait(len(adults), children) - resources - deduction
        if rsa >= 6:
            claims["rsa"] = rsa
    pa = prime_activite(earnings, other, len(adults), children)
    if pa >= 15:
        claims["prime_activite"] = pa
    for a in adults:
        if a.taux >= 80 and 20 <= a.age < 65 and AAH_MAX - (a.earnings + a.other) > 10:
            claims["aah"] = claims.get("aah", 0.0) + AAH_MAX - (a.earnings + a.other)
    if all(a.age >= 65 for a in adults):
        ceiling = ASPA_SINGLE if len(adults) == 1 else ASPA_COUPLE
        if ceiling - resources > 10:
            claims["aspa"] = ceiling - resources
    af = allocations_familiales(children)
    if af:
        claims["af"] = af
    if resources < css_ceiling(persons) or "rsa" in claims:
        claims["css"] = 0.0
    return claims
