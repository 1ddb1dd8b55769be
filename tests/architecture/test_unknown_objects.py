"""An unknown object is a 404, never a 500: every declared page with an id in its address, asked by an actor its
rule lets in, with an id no row has (the largest an address may carry, 18 digits) and with one past a BIGINT
(2**63: no route); and the forms that take an id (the DPO's « Préparer », the log's filter) with an unknown one.

The routes and who may open them come from the declarations, as in the authorization matrix: a route added
with an id is checked without touching this file."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from proactif.kernel import capabilities
from proactif.kernel.capabilities import PublicRule
from tests.architecture.test_authorization_matrix import build_actors, build_samples, request, web_allows

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

UNKNOWN = 10**18 - 1  # the largest id an address may carry (18 digits): no row has it
HUGE = 2**63  # one past the largest BIGINT: matches no route
INT_PARAM = re.compile(r"<int:(\w+)>")


def id_routes() -> list[tuple[str, str, Any]]:
    """(name, pattern, rule) of every declared page whose address carries an id."""
    return [(f"{p.namespace}:{r.name}", f"{p.prefix}{r.pattern}", r.rule) for c in capabilities.declared()
            for p in c.pages for r in p.routes if INT_PARAM.search(r.pattern)]


def address(pattern: str, namespace: str, samples: dict[str, Any], ids: dict[str, int]) -> str:
    """The route's address with every id set to `ids` (by name, else the sample's) and the other parts sampled."""

    def part(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int" and name in ids:
            return str(ids[name])
        return str(samples.get(f"{namespace}:{name}", samples.get(name)))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", part, pattern)


def test_every_page_with_an_id_answers_404_for_an_unknown_one(agents, fixed_clock, capsys) -> None:
    samples = build_samples(agents)
    actors = [a for a in build_actors(agents, samples) if a.kind in ("anonymous", "agent", "citizen")]
    problems, checked = [], 0
    routes = id_routes()
    for name, pattern, rule in routes:
        namespace = name.split(":")[0]
        params = INT_PARAM.findall(pattern)
        allowed = [a for a in actors if web_allows(rule, a) is True]
        assert allowed, f"{name}: nobody may open it"
        actor = next((a for a in allowed if a.kind == "agent"), allowed[0]) if not isinstance(rule, PublicRule) \
            else allowed[0]
        # each id unknown in turn (the others known: a known incident with an unknown message…), then all of them
        variants = [{p: UNKNOWN} for p in params] + ([dict.fromkeys(params, UNKNOWN)] if len(params) > 1 else [])
        for ids in variants:
            path = address(pattern, namespace, samples["kwargs"], ids)
            for method in ("GET", "POST"):
                status = request(actor, method, path).status_code
                checked += 1
                # a POST without its form may be refused as such (400) before the id is looked up
                if status not in (404, 405) and not (method == "POST" and status == 400):
                    problems.append(f"{method} {path} as {actor.label}: {status}, expected 404")
        for param in params:
            path = address(pattern, namespace, samples["kwargs"], {param: HUGE})
            status = request(actor, "GET", path).status_code
            checked += 1
            if status != 404:
                problems.append(f"GET {path} as {actor.label}: {status}, expected 404")
        assert reverse(name, kwargs={p: 1 for p in params} | {
            n: samples["kwargs"].get(f"{namespace}:{n}", samples["kwargs"].get(n))
            for n in re.findall(r"<(?:\w+:)?(\w+)>", pattern) if n not in params})
    with capsys.disabled():
        print(f"\nunknown ids: {len(routes)} routes with an id, {checked} requests")
    assert problems == [], "\n".join(problems)
    assert len(routes) >= 25


def test_the_dpo_prepares_nothing_for_an_unknown_person(client, agents) -> None:
    """« Préparer » (the erasure plan), the export and the erasure with a number no resident has: 404; with
    something that is no number we could hold: the form again, saying so."""
    client.force_login(agents["dpo"])
    assert client.get("/dpo/droits/", {"personne": str(UNKNOWN)}).status_code == 404
    for action in ("export", "erase"):
        response = client.post("/dpo/droits/", {"personne": str(UNKNOWN), "action": action, "motif": "demande 12"})
        assert response.status_code == 404, action
    for value in (str(HUGE), "abc", "-3", "0"):
        response = client.get("/dpo/droits/", {"personne": value})
        assert response.status_code == 200 and "Saisissez un numéro." in response.content.decode(), value


def test_the_reported_addresses_are_404_pages(client, agents) -> None:
    """The addresses the issue named: an import, a duplicate pair, a resident none has — the site's 404 page."""
    client.force_login(agents["responsable"])
    for path in ("/habitants/imports/999/", "/habitants/doublons/99999/", "/habitants/99999999/",
                 f"/habitants/imports/{HUGE}/", f"/habitants/doublons/{HUGE}/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<html" in response.content.decode(), path
