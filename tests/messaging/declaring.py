"""A capability declared for one test, beside the installed ones: the rules messaging and journeys find through
`kernel.capabilities` (sending rules, contact bases, recipients), whatever the installed capabilities declare
for the same purposes or codes — theirs give way to the test's, or are withdrawn."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pytest

from proactif.kernel import capabilities
from proactif.kernel.capabilities import Capability, NoPersonalData

KEYS = {"sending": "purpose", "contact_bases": "purpose", "recipients": "code"}  # what each is declared for


def declare(monkeypatch: pytest.MonkeyPatch, withdrawn: Iterable[str] = (), **declarations: Any) -> Capability:
    """For the rest of the test, a capability holding `declarations` (Capability's fields: sending=…,
    contact_bases=…, recipients=…) is declared; the installed capabilities' declarations for the same purposes or
    codes, and for those `withdrawn`, are not. Checked like the installed ones (`DeclarationError`)."""
    test = Capability(name="essai", label="Capacité d'essai", personal_data=NoPersonalData("une capacité de test"),
                      **declarations)
    taken = set(withdrawn) | {getattr(item, KEYS[name]) for name, items in declarations.items() if name in KEYS
                              for item in items}
    installed = [replace(c, **{name: tuple(item for item in getattr(c, name) if getattr(item, key) not in taken)
                               for name, key in KEYS.items()}) for c in capabilities.declared()]
    every = (*installed, test)
    capabilities._check(list(every))
    monkeypatch.setattr(capabilities, "declared", lambda: every)
    return test
