"""Every text a resident reads in the shipped message templates: each template rendered (and typeset) for its
channel with realistic data — every document kind for the templates that name one, every stage of an incident
alert, an exercise too — for the agreement and grammar tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from proactif.kernel.text import euros
from proactif.messaging import _templating as templating
from proactif.registry import domain
from proactif.registry.models import Document

SHIPPED = sorted(Path(__file__).resolve().parents[2].glob("src/proactif/*/messages.yaml"))
LABELS = dict(Document.KINDS)
NAMES_A_DOCUMENT = re.compile(r"\{\{[^}]*\b(document|demande)\.")
STAGES = ("alerte", "mise_a_jour", "fin")


def templates() -> list[dict[str, Any]]:
    return [t for path in SHIPPED for t in yaml.safe_load(path.read_text(encoding="utf-8"))]


def names_a_document(template: dict[str, Any]) -> bool:
    return bool(NAMES_A_DOCUMENT.search(template["body"] + template.get("subject", "")))


def context(kind: str = "passeport", stage: str = "alerte", exercise: bool = False) -> dict[str, Any]:
    label = LABELS[kind]
    thing = {"type": label[0].lower() + label[1:], "numero": "X12345", "expire_le": "1er mars 2027",
             "echeance": "expire le 1er mars 2027", "delivre_le": "2 mars 2017", "mois_restants": 3,
             **domain.agreement(kind)}
    return {"document": thing, "demande": thing,
            "collectivite": {"nom": "Ville de Montreuil", "telephone": "01 48 70 60 00",
                             "site": "https://www.montreuil.fr", "adresse": "1 place Jean-Jaurès"},
            "personne": {"civilite": "Madame", "nom": "Martin", "prenom": "Claire", "nom_complet": "Claire Martin",
                         "age": 42},
            "lien": "https://proactif.example.fr/l/abc", "texte": "La piscine municipale rouvre lundi.",
            "date_limite": "15 janvier 2027",
            "rendez_vous": {"date": "mardi 3 mars", "heure": "10h00", "lieu": "Mairie annexe",
                            "adresse": "1 place Jean-Jaurès", "guichet": "Mairie annexe",
                            "numeros_predemande": "A1B2C3D4E5", "jour": "2027-03-03"},
            "pieces": ["votre ancien titre", "une photo d'identité de moins de six mois",
                       "un justificatif de domicile"],
            "alerte": {"type": "Coupure d'eau", "type_en": "Water cut", "titre": "Coupure d'eau rue de Paris",
                       "etape": stage, "texte": "L'eau est coupée jusqu'à 18 heures. Des bouteilles sont "
                       "distribuées place de la Mairie.", "texte_en": "Water is cut until 6 pm.",
                       "zone": "Quartier Bas-Montreuil", "exercice": exercise, "numero": 1},
            "veille": {"phenomene": "canicule", "periode": "pendant la canicule",
                       "periode_phrase": "Pendant la canicule", "personne": "Jeanne MARTIN", "contact": "Paul"},
            "alerte_veille": {"personne": "Jeanne MARTIN", "constat": "SpO2 à 86 %",
                              "adresse": "12 rue de Paris, 75015 Paris", "telephone": "06 12 34 56 78"},
            "acquittement_veille": {"lien": "https://proactif.example.fr/veille/referent/abc/",
                                    "validite": "24 heures"},
            "inscription": {"date_demande": "3 juin 2026", "tiers": "Paul MARTIN (proche)",
                            "transmission": "", "consentement": False},
            "droits": {"liste": f"Prime d'activité (environ {euros(1150)} par mois) ; Complémentaire santé "
                                "solidaire (sans participation)", "nombre": 2, "total": 1150}}


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def rendered() -> Iterator[tuple[str, str, str, str]]:
    """(channel, key, variant, text) for every French shipped template and every variant of its data."""
    for template in templates():
        if template.get("language", "fr") != "fr":
            continue
        if names_a_document(template):
            variants = {kind: context(kind) for kind in domain.DOCUMENT_KINDS}
        elif template["key"].startswith("alerte."):
            variants = {f"{stage}{' exercice' if exercise else ''}": context(stage=stage, exercise=exercise)
                        for stage in STAGES for exercise in (False, True)}
        elif template["key"].startswith("veille.alerte_referent"):  # the referent's link, or none when not made
            variants = {"avec lien": context(), "sans lien": without(context(), "acquittement_veille")}
        else:
            variants = {"": context()}
        for variant, data in variants.items():
            text = templating.render(template.get("subject", ""), template["body"], data, channel=template["channel"])
            yield template["channel"], template["key"], variant, "\n\n".join(p for p in (text.subject, text.body) if p)
