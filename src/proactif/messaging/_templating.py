"""Message templates: sandboxed Jinja2, checked against a catalogue of placeholders when saved.

Agents write templates; the sandbox keeps them from running code, `StrictUndefined` turns a missing
value into a clear error at send time, and the catalogue refuses a misspelt placeholder at save time
(`{{ personne.prenon }}` is an error the agent sees at once, not a blank in ten thousand SMS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

# Placeholders a template may use: a root and its fields. A field list of None means a plain value;
# a root whose value is a list of records gives its fields to the loop variable.
# What every message sees, built by messaging itself; the capabilities' namespaces (`document`, `rendez_vous`,
# `alerte`…) join from their declarations (`MessageData.fields`), see `messaging.services.catalogue`.
BASE_CATALOGUE: dict[str, tuple[str, ...] | None] = {
    "personne": ("prenom", "nom", "civilite", "nom_complet", "age"),
    "collectivite": ("nom", "telephone", "site", "adresse"),
    "documents": ("type", "numero", "expire_le"),
    "lien": None,
    "texte": None,
    "date_limite": None,
}


class TemplateError(ValueError):
    """A template the catalogue or the syntax refuses; `messages` lists every problem, in French."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


class MissingData(ValueError):
    """Rendering needed a value the person's data does not have."""


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                            keep_trailing_newline=False)


def _paths(node: nodes.Node, loop_vars: dict[str, str]) -> list[tuple[str, str | None, int]]:
    """(root, field or None, line) for every variable the template reads; a loop variable is reported as
    the list it iterates, so its fields are checked against that list's records."""
    if isinstance(node, nodes.For):
        found = _paths(node.iter, loop_vars)
        inner = dict(loop_vars)
        if isinstance(node.target, nodes.Name) and isinstance(node.iter, nodes.Name):
            inner[node.target.name] = loop_vars.get(node.iter.name, node.iter.name)
        for child in [*node.body, *node.else_, *([node.test] if node.test is not None else [])]:
            found += _paths(child, inner)
        return found
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return [(loop_vars.get(node.node.name, node.node.name), node.attr, node.lineno)]
    if isinstance(node, nodes.Name):
        return [(loop_vars.get(node.name, node.name), None, node.lineno)] if node.ctx == "load" else []
    found = []
    for child in node.iter_child_nodes():
        found += _paths(child, loop_vars)
    return found


def check(source: str, catalogue: Mapping[str, tuple[str, ...] | None] = BASE_CATALOGUE) -> list[str]:
    """The placeholders a template uses (`personne.prenom`…), each in `catalogue` (root → its fields, None for a
    plain value); raises TemplateError listing every problem."""
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError([f"ligne {exc.lineno} : syntaxe incorrecte ({exc.message})"]) from None
    problems, used = [], []
    special = {"loop", "range", "true", "false", "none", "True", "False", "None"}
    for root, attr, line in _paths(tree, {}):
        if root in special:
            continue
        if root not in catalogue:
            problems.append(f"ligne {line} : donnée inconnue « {root} » (disponibles : {', '.join(sorted(catalogue))})")
            continue
        fields = catalogue[root]
        if attr is not None:
            if fields is None or attr not in fields:
                allowed = ", ".join(fields or ()) or "aucun champ"
                problems.append(f"ligne {line} : champ inconnu « {root}.{attr} » ({root} : {allowed})")
                continue
            used.append(f"{root}.{attr}")
        else:
            used.append(root)
    if problems:
        raise TemplateError(list(dict.fromkeys(problems)))
    return sorted(set(used))


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=512)
def _compiled_template(source: str) -> Any:
    """Templates are compiled once per process (a campaign renders the same one thousands of times)."""
    return _env.from_string(source)


def render(subject: str, body: str, context: dict[str, Any]) -> Rendered:
    try:
        return Rendered(_compiled_template(subject).render(context).strip() if subject else "",
                        _compiled_template(body).render(context).strip())
    except UndefinedError as exc:
        raise MissingData(f"donnée manquante pour ce message : {_undefined(exc.message or '')}") from None
    except SecurityError as exc:
        raise MissingData(f"opération interdite dans le modèle : {exc}") from None


def _undefined(message: str) -> str:
    """Jinja's "'rendez_vous' is undefined" / "'dict object' has no attribute 'date'" in French."""
    import re

    if match := re.match(r"'(\w+)' is undefined", message):
        return f"« {match.group(1)} » absent"
    if match := re.search(r"has no attribute '(\w+)'", message):
        return f"champ « {match.group(1)} » absent"
    return message


def compile_condition(expression: str) -> Any:
    """A journey condition (`personne.age < 18`) as a sandboxed Jinja expression."""
    try:
        return _env.compile_expression(expression, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise TemplateError([f"condition incorrecte « {expression} » ({exc.message})"]) from None
