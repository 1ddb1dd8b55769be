"""Facts the synthetic commune is calibrated on: rounded public figures (INSEE recensement 2020–2022, DREES,
non-recours studies) that make the synthetic population look like a French commune. The legislation is not
here: who could claim what is decided by `_claims` with the parameters OpenFisca-France holds at the seed date.
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

# Labour market (share of people aged 18–64 not in education; disabled adults at 80 % work far less, DREES).
EMPLOYED, UNEMPLOYED = 0.72, 0.075
EMPLOYED_DISABLED_80 = 0.2
STUDENT_18_24 = 0.52
# Gross monthly amounts (INSEE salaires du privé 2023, DREES retraités 2023, Unédic ARE): net and taxable ones
# are what OpenFisca-France computes from them (`Law.wages` and the other grids), not fixed ratios.
MEDIAN_GROSS_WAGE, WAGE_SIGMA = 2700.0, 0.5
MEDIAN_GROSS_PENSION, PENSION_SIGMA = 1700.0, 0.4
MEDIAN_GROSS_UNEMPLOYMENT, UNEMPLOYMENT_SIGMA = 1350.0, 0.3

# Take-up (1 − non-recours: DREES 2022–2024 — RSA 34 %, prime d'activité 30 %, C2S 30 to 44 %, ASPA 50 %; the
# chèque énergie is sent without a claim, about a fifth is not used; housing aid and the AAH are claimed by most
# of those entitled, family allowances by almost all).
TAKE_UP = {"rsa": 0.66, "prime_activite": 0.70, "css_gratuite": 0.66, "css_participation": 0.56,
           "aide_logement": 0.9, "aspa": 0.5, "aah": 0.9, "cheque_energie": 0.8, "af": 0.98}
# Screening benefits → the benefit a receipt names in the registry
RECEIPT = {"css_gratuite": "css", "css_participation": "css"}

# Consent decisions recorded for adults: purpose -> (P(granted), P(denied)).
CONSENT_RATES = {"rappels_echeances": (0.16, 0.03), "alertes": (0.27, 0.01), "information": (0.22, 0.06),
                 "droits": (0.0, 0.04), "personnalisation": (0.1, 0.03)}
VEILLE_SANTE_CONSENT = 0.02  # older reference persons who gave the former « veille santé » consent
VEILLE_SANTE_DRAWN = 0.16  # the random draws the commune was laid out with (a lower rate keeps every seed's commune)

DISABILITY_50, DISABILITY_80 = 0.03, 0.04
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
