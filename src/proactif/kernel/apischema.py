"""The base of every API request body a capability declares.

django-ninja's `Schema` reads any object's attributes (it serves ORM objects too), so a JSON array or a number
sent as a body would validate as an object with every field at its default. `Input` accepts only a JSON
object: anything else is a 422 naming the body.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import model_validator


class Input(Schema):
    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        received = getattr(data, "_obj", data)  # what ninja's own validator wrapped (its DjangoGetter)
        if not isinstance(received, dict):
            raise ValueError(f"un objet JSON est attendu, pas {_JSON_NAMES.get(type(received), 'autre chose')}")
        return data


_JSON_NAMES = {list: "un tableau", str: "un texte", int: "un nombre", float: "un nombre", bool: "un booléen",
               type(None): "null"}
