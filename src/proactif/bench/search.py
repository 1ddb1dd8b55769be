"""`proactif bench search`: resident search latency on a large commune, against a naive search.

The probe runs in a child process on the benchmark database. It draws a deterministic mix of real
queries — names (nom, nom + prénom, prénom + nom), addresses, phones, e-mail prefixes — and times
each through the search page (view, service, access log and template: what an agent waits for).
The reference is the search one writes first: `icontains` on the name columns.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from proactif.bench.common import machine, run_measured, seeded_database

TARGET_P95_MS = 300.0


def run(residents: int | None = None, database: str = "sqlite") -> dict[str, Any]:
    residents = residents or 1_000_000
    db = seeded_database(database, f"seed-{database}", residents)
    probe = run_measured(["bench-probe", "search"], db).output
    return {"benchmark": "search", "database": db.label, "residents": residents, **probe,
            "target_p95_ms": TARGET_P95_MS, "met": probe["p95_ms"] <= TARGET_P95_MS, "machine": machine()}


def synthetic_residents() -> int:
    from proactif.registry.models import Person

    return Person.objects.filter(source="synth").count()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def draw_queries(count: int, seed: int = 1) -> list[tuple[str, str]]:
    from proactif.registry.models import Address, ContactPoint, Person

    rnd = random.Random(seed)
    top = Person.objects.order_by("-id").values_list("id", flat=True).first() or 0
    queries: list[tuple[str, str]] = []
    while len(queries) < count:
        person = Person.objects.filter(id__gte=rnd.randint(1, top), status="active").order_by("id").first()
        if person is None:
            continue
        kind = rnd.choice(("nom", "nom_prenom", "prenom_nom", "adresse", "telephone", "email"))
        if kind == "nom":
            queries.append((kind, person.nom_naissance[: rnd.randint(3, max(3, len(person.nom_naissance)))]))
        elif kind == "nom_prenom":
            queries.append((kind, f"{person.nom_naissance} {person.prenom}"))
        elif kind == "prenom_nom":
            queries.append((kind, f"{person.prenom} {person.nom_naissance}"))
        elif kind == "adresse" and person.household_id:
            address = Address.objects.select_related("voie").filter(households__members=person).first()
            if address:
                queries.append((kind, f"{address.numero or ''} {address.voie.nom}".strip()))
        else:
            channel = "phone" if kind == "telephone" else "email"
            contact = ContactPoint.objects.filter(person=person, kind=channel).first()
            if contact:
                at = contact.value.find("@")
                value = "0" + contact.value[3:] if kind == "telephone" else contact.value[: at + 1]
                queries.append((kind, value))
    return queries


def probe(queries: int = 400) -> dict[str, Any]:
    """Runs inside the child process (`proactif bench-probe search`)."""
    from django.db.models import Q
    from django.test import Client

    from proactif.accounts import services as accounts
    from proactif.registry.models import Person

    email = "bench.search@proactif.local"
    agent = accounts.find_agent_by_email(email) or accounts.create_agent(email, None, service="etat_civil")
    client = Client()
    client.force_login(agent)
    drawn = draw_queries(queries)
    client.get("/habitants/", {"q": drawn[0][1]}, HTTP_HX_REQUEST="true")  # warm the caches once
    timings: dict[str, list[float]] = {}
    results = []
    for kind, text in drawn:
        started = time.perf_counter()
        response = client.get("/habitants/", {"q": text}, HTTP_HX_REQUEST="true")
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200
        timings.setdefault(kind, []).append(elapsed)
        results.append(response.content.count(b'href="/habitants/'))
    every = [t for values in timings.values() for t in values]
    # Like for like: the name search of the service against the naive query, same queries, no page.
    from proactif.kernel.text import search_key
    from proactif.registry._search import by_name

    ours, naive = [], []
    for kind, text in drawn:
        if not kind.startswith("nom") and kind != "prenom_nom":
            continue
        started = time.perf_counter()
        by_name(search_key(text), 50)
        ours.append((time.perf_counter() - started) * 1000)
        words = text.split()
        started = time.perf_counter()
        naive_qs = Person.objects.filter(Q(nom_naissance__icontains=words[0]) | Q(nom_usage__icontains=words[0])
                                         | Q(prenoms__icontains=words[0]))
        for word in words[1:]:
            naive_qs = naive_qs.filter(Q(nom_naissance__icontains=word) | Q(prenoms__icontains=word))
        list(naive_qs.order_by("nom_naissance", "prenoms")[:50])
        naive.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(every), "p50_ms": round(percentile(every, 0.5), 1), "p95_ms": round(percentile(every, 0.95), 1),
        "p99_ms": round(percentile(every, 0.99), 1), "mean_ms": round(statistics.fmean(every), 1),
        "by_kind_p95_ms": {k: round(percentile(v, 0.95), 1) for k, v in sorted(timings.items())},
        "queries_with_results": sum(1 for r in results if r), "residents": Person.objects.count(),
        "name_search_service_p95_ms": round(percentile(ours, 0.95), 1),
        "reference": {"method": "icontains on the name columns, order by name, first 50 (same name queries)",
                      "queries": len(naive), "p95_ms": round(percentile(naive, 0.95), 1)},
        "ratio_vs_reference_p95": round(percentile(naive, 0.95) / percentile(ours, 0.95), 1),
    }
