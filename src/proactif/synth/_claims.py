"""Who in the synthetic commune could claim what: the benefits' rules as the legislation writes them, with the
parameters OpenFisca-France holds at the seed date (`Law`, read by `_law`) — no amount or rate copied by hand.

These are the rules' main terms, not OpenFisca's whole model: the screening computes the real thing, and the
generator's decisions are the ground truth the screening is measured against (`proactif bench rights`: precision
and recall of detection per benefit). Pure: no Django, no I/O.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grid:
    """Monthly net and taxable amounts for gross ones, as OpenFisca-France computes them at the seed date
    (linear between the points; beyond the last point, in proportion)."""

    gross: tuple[float, ...]
    net: tuple[float, ...]
    taxable: tuple[float, ...]

    def at(self, gross: float) -> tuple[float, float]:
        points = self.gross
        if gross <= points[0]:
            return self.net[0], self.taxable[0]
        if gross >= points[-1]:
            ratio = gross / points[-1]
            return self.net[-1] * ratio, self.taxable[-1] * ratio
        i = bisect.bisect_right(points, gross) - 1
        share = (gross - points[i]) / (points[i + 1] - points[i])
        return (self.net[i] + share * (self.net[i + 1] - self.net[i]),
                self.taxable[i] + share * (self.taxable[i + 1] - self.taxable[i]))


@dataclass(frozen=True)
class Scale:
    """Household-size increases of a lump sum (RSA, prime d'activité, C2S ceiling): the second person, the third
    and fourth, each one beyond; for the RSA and the prime, a single parent's first child counts as a second
    person."""

    second: float
    third_fourth: float
    beyond: float

    def factor(self, persons: int) -> float:
        factor = 1.0 + (self.second if persons >= 2 else 0.0)
        factor += self.third_fourth * max(0, min(persons, 4) - 2)
        return factor + self.beyond * max(0, persons - 4)


@dataclass(frozen=True)
class Housing:
    """Housing aid (allocations de logement, APL) for tenants: art. D823-16 and following of the CCH."""

    ceilings: dict[str, tuple[float, float, float, float]]  # zone → single, couple, one dependant, each one more
    reference_zone: str  # the rent ratio of the TL rate is taken on this zone's ceiling
    charges: tuple[float, float]  # flat charges: base, per dependant
    p0: tuple[float, float]  # minimum participation: rate of rent + charges, floor
    tf: tuple[float, ...]  # family-size rate: single, couple, 1…6 dependants
    tf_more: float  # each dependant beyond six
    tl: tuple[float, float, float, float]  # rent-ratio thresholds 1, 2 and rates 2, 3
    r0: tuple[float, ...]  # resources deducted: single, couple, 1…6 dependants
    r0_more: float
    degressive: dict[str, tuple[float, float]]  # zone → rent multiples of the ceiling: degressive, nothing
    minimum: tuple[float, float]  # paid from: APL (social housing), other aid
    reduction: float  # flat monthly reduction
    crds: float


@dataclass(frozen=True)
class Law:
    """The parameters the rules read, monthly unless said otherwise."""

    day: str
    wages: Grid
    pensions: Grid
    unemployment: Grid
    smic_hourly: float  # gross
    rsa: float
    rsa_scale: Scale
    rsa_housing: tuple[float, float, float]  # housing package: 1, 2, 3+ persons (share of their lump sum)
    rsa_minimum: float
    ppa: float
    ppa_scale: Scale
    ppa_earnings: float  # share of earnings added to the lump sum
    ppa_bonus: tuple[float, float, float]  # hours of SMIC where the bonus starts, where it tops; top share
    ppa_housing: tuple[float, float, float]
    ppa_minimum: float
    aah: float
    aah_age: int  # from (at 80 % and more, no upper age: the retirement age bounds only the 50–79 % case)
    aah_work: tuple[float, float, float]  # SMIC share of the first band; deducted share of it, of the rest
    aspa_ceiling: tuple[float, float]  # single, couple
    aspa_maximum: tuple[float, float]
    aspa_age: int
    css_ceiling: float  # yearly, one person
    css_scale: Scale
    css_participation: float  # raise of the ceiling for the C2S with participation
    css_contribution: tuple[tuple[int, float], ...]  # monthly contribution per person: (from age, amount)
    css_housing: tuple[tuple[float, float, float], tuple[float, float, float]]  # without, with housing aid
    family_base: float  # BMAF
    family_rates: tuple[float, float]  # two children, each one more
    housing: Housing
    abatpro: tuple[float, float, float]  # rate, min, max (yearly)
    abatpen: tuple[float, float, float]
    energy_uc: tuple[float, float]  # consumption units: second person, each further one
    energy_thresholds: tuple[float, ...]  # reference income per unit, yearly
    energy_amounts: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]  # 1 UC, 1–2 UC, 2+ UC
    zones: dict[str, str] = field(default_factory=dict)  # commune code → housing-aid zone


@dataclass(frozen=True)
class Adult:
    age: int
    earnings: float  # net earned income, monthly
    other: float  # net pensions, unemployment benefit, grants…
    gross: float  # gross wages and pensions (what the ASPA reads)
    taxable: float  # taxable incomes, monthly (the 10 % allowances are applied by `reference_income`)
    taxable_wages: float  # of which wages and unemployment benefit (the professional allowance)
    taux: int  # taux d'incapacité


def _deduct(amount: float, rate: float, low: float, high: float) -> float:
    """A yearly income less its 10 % allowance (bounded)."""
    return max(0.0, amount - min(max(rate * amount, low), high)) if amount > 0 else 0.0


def reference_income(law: Law, adults: list[Adult]) -> float:
    """The yearly reference tax income of a famille's adults (one foyer fiscal here): taxable wages and
    unemployment benefit less the professional allowance, pensions less theirs."""
    total = 0.0
    for a in adults:
        total += _deduct(12 * a.taxable_wages, *law.abatpro)
        total += _deduct(12 * (a.taxable - a.taxable_wages), *law.abatpen)
    return total


def family_allowances(law: Law, children: int) -> float:
    if children < 2:
        return 0.0
    return law.family_base * (law.family_rates[0] + law.family_rates[1] * (children - 2))


def _share(rates: tuple[float, float, float], persons: int) -> float:
    return rates[min(persons, 3) - 1]


def housing_aid(law: Law, adults: int, children: int, rent: float, social: bool, zone: str,
                resources: float) -> float:
    """The monthly aid of a tenant famille for its rent and yearly resources: rent and charges retained less
    the personal participation P0 + Tp × (R − R0), paid from its minimum, less the flat reduction and the CRDS."""
    h = law.housing
    single, couple, one, more = h.ceilings.get(zone, h.ceilings["zone_2"])
    ceiling = one + more * (children - 1) if children else (couple if adults > 1 else single)
    ref = h.ceilings[h.reference_zone]
    ref_ceiling = ref[2] + ref[3] * (children - 1) if children else (ref[1] if adults > 1 else ref[0])
    degressive, nothing = h.degressive.get(zone, h.degressive["zone_2"])
    if rent > nothing * ceiling:
        return 0.0
    retained = min(rent, ceiling)
    charges = h.charges[0] + h.charges[1] * children
    p0 = max(h.p0[0] * (retained + charges), h.p0[1])
    ratio = round(retained / ref_ceiling * 100, 2) / 100
    s1, s2, t2, t3 = h.tl
    tl = t3 * (ratio - s2) + t2 * (s2 - s1) if ratio >= s2 else max(0.0, t2 * (ratio - s1))
    tf = h.tf[min(children, 6) + 1] + h.tf_more * max(0, children - 6) if children else h.tf[1 if adults > 1 else 0]
    r0 = h.r0[min(children, 6) + 1] + h.r0_more * max(0, children - 6) if children else h.r0[1 if adults > 1 else 0]
    rounded = math.ceil(resources / 100) * 100
    aid = retained + charges - (p0 + (tf + round(tl, 5)) * max(0.0, rounded - r0))
    if rent > degressive * ceiling:
        aid *= 1 - (rent - degressive * ceiling) / ((nothing - degressive) * ceiling)
    if aid < h.minimum[0 if social else 1]:
        return 0.0
    aid = max(0.0, aid - h.reduction)
    return float(math.floor(aid - aid * h.crds))


def claims(law: Law, adults: list[Adult], children: int, occupation: str, rent: float | None,
           zone: str, dependants: tuple[tuple[float, float], ...] = ()) -> dict[str, float]:
    """The benefits a famille could claim this month, with their monthly amounts (1.0 for the free C2S, a
    coverage; the households' contribution for the C2S with participation). Resources are this month's, taken as
    those of the months each benefit looks back on. `dependants`: the net earnings and other incomes of the
    children who have some — the C2S counts them all; the RSA and the prime d'activité count a child and her
    incomes only while they stay under the increase of the lump sum she brings (beyond it the CAF leaves her out)."""
    if not adults:
        return {}
    couple = len(adults) > 1
    own_earnings = sum(a.earnings for a in adults)
    own = own_earnings + sum(a.other for a in adults)
    family = family_allowances(law, children)
    owner = occupation in ("proprietaire", "loge_gratuitement")
    tenant = occupation in ("locataire", "locataire_hlm") and rent
    out: dict[str, float] = {}

    def counted(lump: float) -> tuple[int, float, float]:
        """Children counted, their earnings and all their incomes, for a lump sum's marginal increase."""
        kept = [d for d in dependants if d[0] + d[1] <= lump]
        return children - (len(dependants) - len(kept)), sum(d[0] for d in kept), sum(d[0] + d[1] for d in kept)

    # RSA (L262-2 CASF): the lump sum less every resource, family allowances and the housing package included
    rsa_children, _, rsa_dependants = counted(law.rsa * law.rsa_scale.beyond)
    persons = len(adults) + rsa_children
    net = own + rsa_dependants
    rsa_lump = law.rsa * law.rsa_scale.factor(persons)
    rsa_package = law.rsa * law.rsa_scale.factor(min(persons, 3)) * _share(law.rsa_housing, persons)
    rsa_age = max(a.age for a in adults) >= 25 or rsa_children > 0
    rsa_before_housing = rsa_lump - net - family if rsa_age else 0.0

    # Housing aid: resources of year N-2 (nil for an RSA beneficiary)
    aid = 0.0
    if tenant and rent:
        resources = 0.0 if rsa_before_housing >= law.rsa_minimum else reference_income(law, adults)
        aid = housing_aid(law, len(adults), children, rent, occupation == "locataire_hlm",
                          zone, resources)
        if aid > 0:
            out["aide_logement"] = aid
    if rsa_age:
        package = rsa_package if owner else min(aid, rsa_package)
        rsa = rsa_before_housing - package
        if rsa >= law.rsa_minimum:
            out["rsa"] = rsa

    # Prime d'activité (L842-3 CSS): lump sum + a share of earnings + each worker's bonus − resources
    ppa_children, child_earnings, ppa_dependants = counted(law.ppa * law.ppa_scale.beyond)
    earnings = own_earnings + child_earnings
    if earnings > 0:
        persons = len(adults) + ppa_children
        net = own + ppa_dependants
        low, high, top = law.ppa_bonus
        bonus = 0.0
        for a in adults:
            start, full = low * law.smic_hourly, high * law.smic_hourly
            bonus += min(top * law.ppa, max(0.0, top * law.ppa * (a.earnings - start) / (full - start)))
        lump = law.ppa * law.ppa_scale.factor(persons)
        package = law.ppa * law.ppa_scale.factor(min(persons, 3)) * _share(law.ppa_housing, persons)
        package = package if owner else min(aid, package)
        ppa = lump + law.ppa_earnings * earnings + bonus - max(lump, net + family + package)
        if ppa >= law.ppa_minimum:
            out["prime_activite"] = ppa

    # AAH (L821-1 CSS): the person's own resources, earnings with their allowances
    smic_month = law.smic_hourly * 151.67
    first_band, first_cut, rest_cut = law.aah_work
    aah = 0.0
    for a in adults:
        if a.taux >= 80 and a.age >= law.aah_age:
            band = first_band * smic_month
            work = a.earnings - first_cut * min(a.earnings, band) - rest_cut * max(0.0, a.earnings - band)
            personal = work + (a.taxable - a.taxable_wages)
            aah += max(0.0, law.aah - personal)
    if aah > 0:
        out["aah"] = aah

    # ASPA (L815-1 CSS): the gross resources of the couple against its ceiling
    old = [a for a in adults if a.age >= law.aspa_age]
    if old:
        ceiling = law.aspa_ceiling[1 if couple else 0]
        maximum = law.aspa_maximum[1 if len(old) > 1 else 0]
        aspa = min(maximum, ceiling - sum(a.gross for a in adults))
        if aspa > 0:
            out["aspa"] = aspa

    # C2S (L861-1 CSS): twelve months of net resources (the children's included) and the housing package against
    # the ceilings
    persons = len(adults) + children
    net = own + sum(d[0] + d[1] for d in dependants)
    with_aid = aid > 0
    rates = law.css_housing[1 if with_aid else 0]
    package = law.rsa * law.rsa_scale.factor(min(persons, 3)) * _share(rates, persons)
    yearly = 12 * (net + family + (min(aid, package) if with_aid else package if owner else 0.0))
    ceiling = law.css_ceiling * law.css_scale.factor(persons)
    if "rsa" in out or yearly <= ceiling:
        out["css_gratuite"] = 1.0
    elif yearly <= ceiling * (1 + law.css_participation):
        out["css_participation"] = sum(contribution(law, a.age) for a in adults) + children * contribution(law, 0)

    if family:
        out["af"] = family
    return out


def contribution(law: Law, age: int) -> float:
    """A person's monthly contribution to the C2S with participation, by age."""
    return next(amount for start, amount in reversed(law.css_contribution) if age >= start)


def energy_cheque(law: Law, persons: int, reference: float) -> float:
    """The chèque énergie of a ménage (yearly amount) from its reference tax income and its consumption units."""
    units = 1.0 + (law.energy_uc[0] if persons >= 2 else 0.0) + law.energy_uc[1] * max(0, persons - 2)
    amounts = law.energy_amounts[0 if units <= 1 else 1 if units < 2 else 2]
    per_unit = reference / units
    i = bisect.bisect_right(law.energy_thresholds, per_unit) - 1
    return float(amounts[max(i, 0)])
