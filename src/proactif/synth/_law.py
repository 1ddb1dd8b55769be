"""The legislation the synthetic commune follows, read from OpenFisca-France at the seed date: the benefits'
parameters from its parameter tree, and the net and taxable amounts of gross wages, pensions and unemployment
benefit from one vectorised simulation over a grid of gross amounts (social contributions, CSG and CRDS as the
model computes them, the pensions' CSG rate from the reference income of year N-2). Read once per process."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from proactif.rights import services as rights
from proactif.synth._claims import Grid, Housing, Law, Scale

# Gross monthly amounts the net and taxable ones are computed for (denser where the benefits' edges are)
GRID = tuple(float(x) for x in [*range(0, 3000, 100), *range(3000, 8000, 250), *range(8000, 20001, 1000)])
KINDS = {"wages": ("salaire_de_base", "salaire_net", "salaire_imposable", "1986-01-01"),
         "pensions": ("retraite_brute", "retraite_nette", "retraite_imposable", "1954-01-01"),
         "unemployment": ("chomage_brut", "chomage_net", "chomage_imposable", "1980-01-01")}


@cache
def read(day: date, depcoms: tuple[str, ...] = ()) -> Law:
    p = rights.legislation(day)
    minima = p.prestations_sociales.solidarite_insertion.minima_sociaux
    rsa, ppa, cs = minima.rsa, minima.ppa, minima.cs
    aah = p.prestations_sociales.prestations_etat_de_sante.invalidite.aah
    aspa = p.prestations_sociales.solidarite_insertion.minimum_vieillesse.aspa
    al = p.prestations_sociales.aides_logement.allocations_logement.locatif
    formula = al.formule
    particip = formula.pp_particip_perso
    tf = particip.tp_taux.tf_taille_famille.metropole
    r0 = particip.r0_abattement.cas_general
    af = p.prestations_sociales.prestations_familiales
    deductions = p.impot_revenu.calcul_revenus_imposables.deductions
    energy = p.prestations_sociales.solidarite_insertion.autre_solidarite.cheque_energie
    uc = energy.unites_consommation
    scales = energy.baremes
    rsa_maj, ppa_maj = rsa.rsa_maj.maj_montant_max, ppa.pa_m.majoration_montant_maximal
    zones = {z: (c.personnes_seules, c.couples, c.un_enfant, c.majoration_par_enf_supp)
             for z, c in ((z, formula.l_plafonds_loyers.par_zone[z]) for z in ("zone_1", "zone_2", "zone_3"))}
    housing = Housing(
        ceilings={z: tuple(float(v) for v in c) for z, c in zones.items()},  # type: ignore[misc]
        reference_zone="zone_2",
        charges=(float(formula.c_forfait_charges.cas_general.cas_general),
                 float(formula.c_forfait_charges.cas_general.majoration_par_enfant)),
        p0=(float(particip.p0_particip_min.p0_taux), float(particip.p0_particip_min.p0_forfait)),
        tf=(float(tf.personnes_isolees), float(tf.couples_0_enfant),
            *(float(tf[f"avec_{k}_enfant" + ("s" if k > 1 else "")]) for k in range(1, 7))),
        tf_more=float(tf.maj_par_enf_supp),
        tl=(float(particip.tp_taux.tl_loyer.seuils.seuil_1), float(particip.tp_taux.tl_loyer.seuils.seuil_2),
            float(particip.tp_taux.tl_loyer.taux.tl_taux_2), float(particip.tp_taux.tl_loyer.taux.tl_taux_3)),
        r0=(float(r0.taux_seul), float(r0.taux_couple), *(float(r0[f"taux{k}pac"]) for k in range(1, 7))),
        r0_more=float(r0.taux_pac_supp),
        degressive={z: (float(al.coefficients_degressivite_suppression[z].degressivite),
                        float(al.coefficients_degressivite_suppression[z].suppression))
                    for z in ("zone_1", "zone_2", "zone_3")},
        minimum=(float(al.seuils_minimum_versement.apl), float(al.seuils_minimum_versement.non_apl)),
        reduction=float(al.minoration_forfaitaire),
        crds=float(p.prelevements_sociaux.contributions_sociales.crds))
    return Law(
        day=day.isoformat(), **grids(day),
        smic_hourly=float(p.marche_travail.salaire_minimum.smic.smic_b_horaire),
        rsa=float(rsa.rsa_m.montant_de_base_du_rsa),
        rsa_scale=Scale(float(rsa_maj.couples_celibataire_avec_enfant), float(rsa_maj.couple_1_enfant_ou_2e_enfant),
                        float(rsa_maj.par_enfant_supplementaire)),
        rsa_housing=(float(rsa.rsa_fl.forfait_logement.taux_1_personne),
                     float(rsa.rsa_fl.forfait_logement.taux_2_personnes),
                     float(rsa.rsa_fl.forfait_logement.taux_3_personnes_ou_plus)),
        rsa_minimum=float(rsa.rsa_maj.montant_minimum_verse),
        ppa=float(ppa.pa_m.montant_de_base),
        ppa_scale=Scale(float(ppa_maj.couples_seul_avec_enfant), float(ppa_maj.couple_1_enfant_2e_enfant),
                        float(ppa_maj.par_enfant_supplementaire)),
        ppa_earnings=float(ppa.pa_m.majoration_ressources_revenus_activite),
        ppa_bonus=(float(ppa.pa_m.bonification.seuil_bonification),
                   float(ppa.pa_m.bonification.seuil_max_bonification),
                   float(ppa.pa_m.bonification.taux_bonification_max)),
        ppa_housing=(float(ppa.pa_fl.taux_forfait_logement.foyer_1_personne),
                     float(ppa.pa_fl.taux_forfait_logement.foyer_2_personnes),
                     float(ppa.pa_fl.taux_forfait_logement.foyer_3_personnes)),
        ppa_minimum=float(ppa.pa_m.montant_minimum_verse),
        aah=float(aah.montant), aah_age=int(aah.age_minimal),
        aah_work=(float(aah.travail_ordinaire.tranche_smic), float(aah.travail_ordinaire.abattement_30),
                  float(aah.travail_ordinaire.abattement_sup)),
        aspa_ceiling=(float(aspa.plafond_ressources.personnes_seules) / 12,
                      float(aspa.plafond_ressources.couples) / 12),
        aspa_maximum=(float(aspa.montant_maximum_annuel.personnes_seules) / 12,
                      float(aspa.montant_maximum_annuel.couples) / 12),
        aspa_age=int(aspa.age_min),
        css_ceiling=float(cs.cmu.plafond_base),
        css_scale=Scale(float(cs.cmu.coeff_p2), float(cs.cmu.coeff_p3_p4), float(cs.cmu.coeff_p5_plus)),
        css_participation=float(cs.acs.majoration_plafond_acs),
        css_contribution=tuple((start, float(cs.css.montant.france[band])) for start, band in (
            (0, "cmu_moins_30_ans"), (30, "cmu_30_49_ans"), (50, "cmu_50_59_ans"), (60, "cmu_60_69_ans"),
            (70, "cmu_plus_69_ans"))),
        css_housing=((float(cs.css.forfait_logement_sans_al.taux_1p), float(cs.css.forfait_logement_sans_al.taux_2p),
                      float(cs.css.forfait_logement_sans_al.taux_3p_plus)),
                     (float(cs.css.forfait_logement_avec_al.taux_1p), float(cs.css.forfait_logement_avec_al.taux_2p),
                      float(cs.css.forfait_logement_avec_al.taux_3p_plus))),
        family_base=float(af.bmaf.bmaf),
        family_rates=(float(af.prestations_generales.af.af_cm.taux.enf2),
                      float(af.prestations_generales.af.af_cm.taux.enf3)),
        housing=housing,
        abatpro=(float(deductions.abatpro.taux), float(deductions.abatpro.min), float(deductions.abatpro.max)),
        abatpen=(float(deductions.abatpen.taux), float(deductions.abatpen.min), float(deductions.abatpen.max)),
        energy_uc=(float(uc.deuxieme_personne), float(uc.autres_personnes)),
        energy_thresholds=tuple(float(t) for t in scales.une_uc.thresholds),
        energy_amounts=(tuple(float(a) for a in scales.une_uc.amounts),
                        tuple(float(a) for a in scales.une_uc_a_deux_uc.amounts),
                        tuple(float(a) for a in scales.plus_de_deux_ucs.amounts)),
        zones=zones_of(depcoms, day))


@cache
def grids(day: date) -> dict[str, Grid]:
    """Net and taxable amounts of each gross amount of `GRID`, for wages, pensions and unemployment benefit, from
    one simulation of single people (the pensions' CSG rate reads the reference income of N-2: given here as that
    of the same pension)."""
    month, year = day.strftime("%Y-%m"), day.year
    individus: dict[str, Any] = {}
    asked: list[tuple[str, str]] = []
    for kind, (gross, net, taxable, born) in KINDS.items():
        for i, amount in enumerate(GRID):
            person = {"date_naissance": {"ETERNITY": born}, gross: {month: amount}}
            individus[f"{kind}{i}"] = person
        asked += [(net, month), (taxable, month)]
    names = list(individus)
    situation = {"individus": individus,
                 "familles": {f"f{n}": {"parents": [n]} for n in names},
                 "foyers_fiscaux": {f"t{n}": {"declarants": [n], "rfr": {str(year - 2): 0.8 * 12 * amount}}
                                    for n, amount in zip(names, GRID * len(KINDS), strict=True)},
                 "menages": {f"m{n}": {"personne_de_reference": [n]} for n in names}}
    computed = rights.calculate(situation, asked)
    out: dict[str, Grid] = {}
    for k, (kind, (_, net, taxable, _)) in enumerate(KINDS.items()):
        part = slice(k * len(GRID), (k + 1) * len(GRID))
        out[kind] = Grid(GRID, tuple(round(float(v), 2) for v in computed[(net, month)][part]),
                         tuple(round(float(v), 2) for v in computed[(taxable, month)][part]))
    return out


def zones_of(depcoms: Iterable[str], day: date) -> dict[str, str]:
    """The housing-aid zone (1, 2 or 3) of each commune code, as OpenFisca-France's table gives it."""
    codes = sorted(set(depcoms))
    if not codes:
        return {}
    month = day.strftime("%Y-%m")
    situation = {"individus": {f"p{c}": {} for c in codes},
                 "familles": {f"f{c}": {"parents": [f"p{c}"]} for c in codes},
                 "foyers_fiscaux": {f"t{c}": {"declarants": [f"p{c}"]} for c in codes},
                 "menages": {f"m{c}": {"personne_de_reference": [f"p{c}"], "depcom": {month: c}} for c in codes}}
    zones = rights.calculate(situation, [("zone_apl", month)])[("zone_apl", month)]
    return {c: str(z) for c, z in zip(codes, zones.decode_to_str(), strict=True)}
