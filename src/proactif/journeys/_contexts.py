"""What journey conditions see: `evenements`, and the namespaces capabilities declare (`JourneyData`:
`document` and `personne` by journeys, `rendez_vous` by deadlines). Loaded in bulk per batch, and only the
namespaces a definition's conditions use."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.db.models import F

from proactif.journeys.models import JourneyInstance, NodeVisit
from proactif.kernel import capabilities
from proactif.kernel.logging import get_logger
from proactif.messaging import services as messaging
from proactif.registry import services as registry

log = get_logger(__name__)

def _document_ids(instances: list[JourneyInstance]) -> dict[int, int]:
    out = {}
    for instance in instances:
        document_id = (instance.context or {}).get("document_id") or instance.subject_id
        if document_id:
            out[instance.pk] = int(document_id)
    return out


def documents(instances: list[JourneyInstance]) -> dict[int, dict[str, Any]]:
    ids = _document_ids(instances)
    views = registry.document_views(sorted(set(ids.values())), with_renewal=True)
    return {pk: views[doc] for pk, doc in ids.items() if doc in views}


def persons(instances: list[JourneyInstance]) -> dict[int, dict[str, Any]]:
    facts = registry.person_facts(sorted({i.person_id for i in instances}))
    return {i.pk: facts.get(i.person_id, {}) for i in instances}


@cache
def needed(spec_key: str, expressions: tuple[str, ...]) -> frozenset[str]:
    roots = set()
    for expression in expressions:
        roots.update(re.findall(r"\b([a-z_]+)\.", expression))
        roots.update(re.findall(r"^\s*([a-z_]+)\s*$", expression))
    return frozenset(roots)


def expressions_of(spec: dict[str, Any]) -> tuple[str, ...]:
    found = [g["when"] for g in spec.get("goals", [])]
    for node in spec["nodes"].values():
        if node["type"] == "branch":
            found += [c["when"] for c in node["cases"]]
        elif node["type"] == "goal":
            found.append(node["when"])
        elif node["type"] in ("wait", "wait_for_event") and node.get("until"):
            found.append(node["until"][0])
    return tuple(found)


def load(spec: dict[str, Any], instances: list[JourneyInstance]) -> dict[int, dict[str, Any]]:
    data: dict[int, dict[str, Any]] = {i.pk: {"evenements": (i.context or {}).get("evenements", {})}
                                       for i in instances}
    declared = capabilities.journey_data()
    for namespace in needed(spec["key"], expressions_of(spec)):
        if namespace not in declared:
            continue
        for pk, value in declared[namespace].load(instances).items():
            data[pk][namespace] = value
    return data


def refused(spec: dict[str, Any], instances: list[JourneyInstance]) -> set[int]:
    if not spec.get("exit_on_opt_out", True):
        return set()
    return registry.refused_purpose(sorted({i.person_id for i in instances}), spec["purpose"])


@cache
def _compiled(expression: str) -> Any:
    return messaging.compile_condition(expression)


@cache
def _prepared(expression: str) -> tuple[Any, dict[str, Any]]:
    """The expression's compiled template and its globals as a plain dict, merged once."""
    template = _compiled(expression)._template
    return template, dict(template.globals)


def evaluate(expression: str, context: dict[str, Any]) -> bool:
    """The condition on one instance's data. Runs the compiled expression in a context built directly (what
    Jinja's `TemplateExpression.__call__` does, without re-merging its globals for every call: conditions are
    evaluated for every instance of every batch)."""
    from jinja2.runtime import Context

    try:
        template, known = _prepared(expression)
        run = Context(template.environment, {**known, **context}, template.name, template.blocks)
        for _ in template.root_render_func(run):
            pass
        return bool(run.vars["result"])
    except Exception:  # a missing value makes a condition false, not the batch fail
        return False


def check_condition(expression: str) -> None:
    try:
        _compiled(expression)
    except messaging.TemplateError as exc:
        from proactif.journeys.domain import DefinitionError

        raise DefinitionError(exc.messages) from None


def count_visits(visits: dict[tuple[int, str], int]) -> None:
    for (definition_id, node), count in visits.items():
        updated = NodeVisit.objects.filter(definition_id=definition_id, node=node).update(count=F("count") + count)
        if not updated:
            NodeVisit.objects.get_or_create(definition_id=definition_id, node=node, defaults={"count": 0})
            NodeVisit.objects.filter(definition_id=definition_id, node=node).update(count=F("count") + count)
