"""The synthetic commune's register of vulnerable people: a plausible share of its older and disabled residents,
registered by themselves, by a relative, a doctor or a home-care service, or transmitted by the département or the
CARSAT (loi 2024-317), a few of whom objected; with their persons to warn (synthetic numbers), referents, home-care
services and, with their agreement, particular needs. Deterministic by the commune's seed.

Orders of magnitude (docs/watch.md): registers hold a few per cent of a commune's residents aged 65 and over (Pau
about 300, Menton 230, Muret 60 people); here about 1 % of the 65–74 and 5 % of the 75 and over, and 3 % of the
disabled adults the registry knows.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import transaction

from proactif.kernel import clock
from proactif.registry import services as registry
from proactif.watch import domain
from proactif.watch.models import Contact, Need, Registration, RegistrationEvent

SHARE_75 = 0.05
SHARE_65 = 0.01
SHARE_DISABLED = 0.03
OBJECTION = 0.05  # of those a third party or a transmission put forward
NEEDS = ("Se déplace avec un déambulateur", "Fauteuil roulant : logement au 3e étage sans ascenseur",
         "Oxygénothérapie à domicile", "Audition faible : privilégier les SMS et la visite",
         "Troubles de la mémoire : appeler aussi le référent", "Diabète : repas livrés par le CCAS")
HOME_SERVICES = ("Service d'aide à domicile du CCAS", "SSIAD Les Tilleuls", "Portage de repas du CCAS",
                 "Infirmière libérale", "Aide à domicile ADMR")
RELATIONS = ("fille", "fils", "neveu", "nièce", "voisine", "voisin", "ami", "amie", "petite-fille", "petit-fils")
FIRST = ("Sophie", "Nicolas", "Isabelle", "Thomas", "Nathalie", "Julien", "Sandrine", "Olivier", "Céline", "Laurent")
LAST = ("Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia")


def synthetic_mobile(rnd: random.Random) -> str:
    """A mobile number of an allocated 06 block (the fiction range 06 39 98 is not a valid number, which the send
    refuses): like the synthetic residents' numbers, messages to it go only to the built-in sinks — the journey
    marks them synthetic."""
    block = rnd.choice([n for n in range(10, 90) if n != 39])
    return f"+336{block:02d}{rnd.randint(0, 999_999):06d}"


def seed(seed_value: int) -> dict[str, Any]:
    """Register the synthetic commune's share (idempotent: an existing register is left as it is)."""
    if Registration.objects.exists():
        return {"registered": Registration.objects.filter(status="inscrite").count(), "kept": True}
    rnd = random.Random(f"watch:{seed_value}")
    today = clock.today()
    audience = registry.register_audience()
    disabled = set(audience["disabled"])
    residents = registry.residents(sorted(set(audience["older"]) | disabled))
    chosen = []
    for pid in sorted(residents):
        r = residents[pid]
        if not r.synthetic or not r.active:
            continue
        age = domain.age_on(r.born, today) if r.born else 0
        share = SHARE_75 if age >= 75 else SHARE_65 if age >= 65 else SHARE_DISABLED if pid in disabled else 0
        if rnd.random() < share:
            chosen.append(r)
    now = clock.now()
    counts = {"registered": 0, "objected": 0, "third_party": 0, "transmitted": 0, "with_needs": 0}
    with transaction.atomic():
        for r in chosen:
            age = domain.age_on(r.born, today) if r.born else 0
            qualite = "age_65" if age >= 65 else "handicap"
            draw = rnd.random()
            by = "personne" if draw < 0.55 else "tiers" if draw < 0.82 else "transmission"
            requested = today - timedelta(days=rnd.randint(20, 4 * 365))
            third = rnd.choice(("proche", "proche", "medecin", "service_domicile")) if by == "tiers" else ""
            transmission = ("apa" if qualite == "age_65" and rnd.random() < 0.7 else "carsat") \
                if by == "transmission" and qualite == "age_65" else ("pch" if by == "transmission" else "")
            registration = Registration.objects.create(
                person_id=r.id, status="inscrite", qualite=qualite,
                handicap=list(r.handicap) if qualite == "handicap" else [], requested_on=requested, requested_by=by,
                third_party_name=_name(rnd) if by == "tiers" else "", third_party_quality=third,
                transmission=transmission, telephone=r.mobile or r.landline,
                home_service=rnd.choice(HOME_SERVICES) if rnd.random() < 0.3 else "",
                lives_alone=r.household_size == 1, no_family_nearby=rnd.random() < 0.25, quartier_id=r.quartier_id,
                acknowledged_on=requested + timedelta(days=rnd.randint(1, 7)),
                confirmed_on=max(requested, today - timedelta(days=rnd.randint(0, 330))), created_at=now,
                updated_at=now)
            events = [RegistrationEvent(registration=registration, at=now, kind="inscription", by="commune synthétique",
                                        detail={"demandeur": by})]
            if by != "personne" and rnd.random() < OBJECTION:
                registration.status, registration.removal_reason = "radiee", "opposition"
                registration.removal_asked_on = registration.removed_on = registration.acknowledged_on
                registration.telephone = registration.home_service = registration.third_party_name = ""
                registration.save()
                events.append(RegistrationEvent(registration=registration, at=now, kind="opposition",
                                                by="commune synthétique", detail={"motif": "opposition"}))
                RegistrationEvent.objects.bulk_create(events)
                counts["objected"] += 1
                continue
            RegistrationEvent.objects.bulk_create(events)
            contacts = []
            if rnd.random() < 0.85:
                contacts.append(Contact(registration=registration, role="urgence", name=_name(rnd),
                                        relation=rnd.choice(RELATIONS), telephone=synthetic_mobile(rnd),
                                        nearby=rnd.random() < 0.6, rank=1))
            if rnd.random() < 0.3:
                contacts.append(Contact(registration=registration, role="referent", name=_name(rnd),
                                        relation=rnd.choice(("aide à domicile", "travailleur social", "fille", "fils")),
                                        telephone=synthetic_mobile(rnd), rank=1))
            Contact.objects.bulk_create(contacts)
            if rnd.random() < 0.15:
                Need.objects.create(registration=registration, text=rnd.choice(NEEDS), agreed_on=requested,
                                    agreement_source="ecrit", recorded_by="commune synthétique", updated_at=now)
                counts["with_needs"] += 1
            counts["registered"] += 1
            counts["third_party"] += by == "tiers"
            counts["transmitted"] += by == "transmission"
    return counts


def _name(rnd: random.Random) -> str:
    return f"{rnd.choice(FIRST)} {rnd.choice(LAST).upper()}"

