"""Message templates: sandboxed Jinja2, checked against a catalogue of placeholders when saved.

Agents write templates; the sandbox keeps them from running code, `StrictUndefined` turns a missing
value into a clear error at send time, and the catalogue refuses a misspelt placeholder at save time
(`{{ personne.prenon }}` is an error the agent sees at once, not a blank in ten thousand SMS).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from proactif.messaging.domain import typeset

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


class LimitExceeded(MissingData):
    """A template that renders too long or too big (nested loops, 'A' * 3000000): stopped, and the editor says
    why."""


@dataclass(frozen=True)
class Limits:
    """How much one rendering may cost: CPU time and characters of output (settings
    PROACTIF_TEMPLATE_RENDER_MS and PROACTIF_TEMPLATE_MAX_OUTPUT_KB)."""

    cpu_seconds: float = 0.5
    max_chars: int = 64 * 1024


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, and `*`, `**` and `+` that cannot build a value larger than the output limit."""

    intercepted_binops = frozenset({"*", "**", "+"})
    max_chars = Limits().max_chars

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise LimitExceeded("puissance trop grande dans le modèle")
        sized, times = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
        if (operator == "*" and isinstance(sized, (str, list, tuple)) and isinstance(times, int)
                and len(sized) * times > self.max_chars):
            raise LimitExceeded(f"texte de plus de {self.max_chars // 1024} ko produit par « * »")
        return super().call_binop(context, operator, left, right)


_deadline: ContextVar[float] = ContextVar("template_deadline", default=float("inf"))


def _bounded_range(*args: int) -> Any:
    """`range` in templates: the sandbox's size limit, and the CPU deadline checked as it counts (an empty nested
    loop produces no output to check)."""
    from jinja2.sandbox import safe_range

    for index, value in enumerate(safe_range(*args)):
        if index % 256 == 0 and time.process_time() > _deadline.get():
            raise LimitExceeded("le rendu dépasse le temps permis : simplifiez les boucles")
        yield value


_env = _BoundedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                           keep_trailing_newline=False)
_env.globals["range"] = _bounded_range
ALLOWED_CALLS = frozenset({"range"})
FORBIDDEN = "\x00interdit"  # what `_paths` reports for an access outside the catalogue
LOCAL = "\x00local"  # a loop variable counting a `range`


def _paths(node: nodes.Node, loop_vars: dict[str, str]) -> list[tuple[str, str | None, int]]:
    """(root, field or None, line) for every variable the template reads; a loop variable is reported as
    the list it iterates, so its fields are checked against that list's records."""
    if isinstance(node, nodes.For):
        found = _paths(node.iter, loop_vars)
        inner = dict(loop_vars)
        if isinstance(node.target, nodes.Name) and isinstance(node.iter, nodes.Name):
            inner[node.target.name] = loop_vars.get(node.iter.name, node.iter.name)
        elif isinstance(node.target, nodes.Name):  # `for i in range(3)`: a number of the template's own
            inner[node.target.name] = LOCAL
        for child in [*node.body, *node.else_, *([node.test] if node.test is not None else [])]:
            found += _paths(child, inner)
        return found
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return [(loop_vars.get(node.node.name, node.node.name), node.attr, node.lineno)]
    if isinstance(node, nodes.Getattr):  # `''.__class__`, `personne.prenom.format_map`: no attribute of a value
        return [(FORBIDDEN, f".{node.attr}", node.lineno)]
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return [(FORBIDDEN, f"[{node.arg.value!r}]", node.lineno)]  # `personne['__class__']`
    if isinstance(node, nodes.Call) and not (isinstance(node.node, nodes.Name) and node.node.name in ALLOWED_CALLS):
        called = node.node.attr if isinstance(node.node, nodes.Getattr) else getattr(node.node, "name", "")
        return [(FORBIDDEN, f"{'.' if isinstance(node.node, nodes.Getattr) else ''}{called}()", node.lineno)]
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
        if root == FORBIDDEN:
            problems.append(f"ligne {line} : accès interdit « {attr} » (seules les données du catalogue sont "
                            "permises)")
            continue
        if root in special or root == LOCAL:
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


_limits = Limits()


def configure_limits(limits: Limits) -> None:
    """The limits of every rendering in this process (from the settings, at start-up)."""
    global _limits
    _limits = limits
    _BoundedEnvironment.max_chars = limits.max_chars


def render(subject: str, body: str, context: dict[str, Any], limits: Limits | None = None,
           channel: str = "") -> Rendered:
    """The subject and body with `context`, typeset for `channel` (French typography where the channel carries
    Unicode: `domain.typeset`); stops (LimitExceeded) past the limits' CPU time or size."""
    limits = limits or _limits
    started = time.process_time()
    token = _deadline.set(started + limits.cpu_seconds)
    try:
        return Rendered(typeset(_bounded(subject, context, limits, started), channel) if subject else "",
                        typeset(_bounded(body, context, limits, started), channel))
    except UndefinedError as exc:
        raise MissingData(f"donnée manquante pour ce message : {_undefined(exc.message or '')}") from None
    except SecurityError as exc:
        raise MissingData(f"opération interdite dans le modèle : {exc}") from None
    finally:
        _deadline.reset(token)


def _bounded(source: str, context: dict[str, Any], limits: Limits, started: float) -> str:
    """Rendered chunk by chunk, checking the CPU time spent and the size produced as it goes."""
    parts, size = [], 0
    for chunk in _compiled_template(source).generate(context):
        size += len(chunk)
        if size > limits.max_chars:
            raise LimitExceeded(f"le message dépasse {limits.max_chars // 1024} ko : raccourcissez le modèle")
        if time.process_time() - started > limits.cpu_seconds:
            raise LimitExceeded(f"le rendu dépasse {round(limits.cpu_seconds * 1000)} ms : simplifiez les boucles")
        parts.append(chunk)
    return "".join(parts).strip()


def trial_render(source: str, catalogue: Mapping[str, tuple[str, ...] | None]) -> None:
    """Render once with sample data shaped like the catalogue: a template whose loops or products run past the
    limits is refused when it is saved (TemplateError), not when ten thousand messages go out."""
    sample: dict[str, Any] = {root: ({name: "x" for name in fields} if fields else "x")
                              for root, fields in catalogue.items()}
    try:
        render("", source, sample)
    except LimitExceeded as exc:
        raise TemplateError([str(exc)]) from None
    except (MissingData, TypeError, ValueError):
        pass  # sample data is not real data: only the limits are tried here


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
