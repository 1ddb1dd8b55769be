"""`proactif bench seed`: a synthetic commune into a fresh database, against the naive method.

The measured run is `proactif seed` in a child process (wall time, peak RSS of its process tree). The
reference, measured in the same run on a sample, is what one would write first: Faker for every
field and one ORM `create()` per row.
"""

from __future__ import annotations

import time
from typing import Any

from proactif.bench.common import Database, fresh_database, machine, run_measured

TARGET_SECONDS = 300
TARGET_RSS_MB = 3 * 1024


def naive_residents_per_second(sample: int, db: Database) -> float:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": db.url, "PROACTIF_HOME": str(db.home), "PROACTIF_LOG_LEVEL": "WARNING"}
    code = f"from proactif.bench.seed import _naive_child; _naive_child({sample})"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _naive_child(sample: int) -> None:
    """Runs in a child process on the reference database: Faker per field, one INSERT per row."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proactif.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from faker import Faker

    from proactif.kernel import clock
    from proactif.kernel.text import search_key
    from proactif.registry.models import Address, ContactPoint, Document, Household, Person, Voie

    fake = Faker("fr_FR")
    Faker.seed(1)
    now = clock.now()
    voie = Voie.objects.create(code_insee="21999", nom="Rue des Tilleuls", cle="RUE DES TILLEULS")
    started = time.monotonic()
    for _ in range(sample):
        address = Address.objects.create(voie=voie, numero=fake.random_int(1, 200), code_insee="21999",
                                         commune="Belleroche", lon=float(fake.longitude()),
                                         lat=float(fake.latitude()), updated_at=now)
        household = Household.objects.create(address=address, updated_at=now)
        nom, prenom = fake.last_name(), fake.first_name()
        person = Person.objects.create(nom_naissance=nom, prenoms=prenom, sexe=fake.random_element("FM"),
                                       date_naissance=fake.date_of_birth(), household=household,
                                       menage_role="personne_de_reference", nom_cle=search_key(nom),
                                       prenoms_cle=search_key(prenom), updated_at=now)
        ContactPoint.objects.create(person=person, kind="email", value=fake.email(), created_at=now)
        ContactPoint.objects.create(person=person, kind="phone", value=fake.phone_number(), created_at=now)
        Document.objects.create(person=person, kind="cni", numero=fake.bothify("#########"),
                                issued_on=fake.date_this_decade(), updated_at=now)
    print(sample / (time.monotonic() - started))  # noqa: T201 - the parent reads this figure


def run(residents: int | None = None, database: str = "sqlite") -> dict[str, Any]:
    residents = residents or 1_000_000
    db = fresh_database(database, f"seed-{database}")
    measured = run_measured(["seed", "--residents", str(residents), "--seed", "1"], db)
    seed = measured.output
    rate = seed["residents"] / seed["seconds"]
    reference_db = fresh_database(database, f"seed-naive-{database}")
    sample = 2_000
    naive = naive_residents_per_second(sample, reference_db)
    return {
        "benchmark": "seed", "database": db.label, "residents": seed["residents"],
        "rows_written": sum(seed["rows"].values()) + seed["voies"] + seed["addresses"],
        "seconds": seed["seconds"], "wall_seconds_with_startup_and_migrations": round(measured.seconds, 1),
        "peak_rss_mb": measured.peak_rss_mb, "residents_per_second": round(rate),
        "rows_per_second": seed["rows_per_second"],
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_RSS_MB,
                    "met": measured.seconds <= TARGET_SECONDS and measured.peak_rss_mb <= TARGET_RSS_MB},
        "reference": {"method": "Faker per field + one ORM create() per row", "sample_residents": sample,
                      "residents_per_second": round(naive, 1)},
        "ratio_vs_reference": round(rate / naive, 1),
        "machine": machine(),
    }
