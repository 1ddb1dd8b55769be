"""A capability declared for one test, beside the installed ones: the rules messaging and journeys find through
`kernel.capabilities` (sending rules, contact bases, recipients) before the capability that will hold them
(watch) exists."""

from __future__ import annotations

from typing import Any

import pytest

from proactif.kernel import capabilities
from proactif.kernel.capabilities import Capability, NoPersonalData


def declare(monkeypatch: pytest.MonkeyPatch, **declarations: Any) -> Capability:
    """Add a capability holding `declarations` (Capability's fields: sending=…, contact_bases=…) to the declared
    ones, for the rest of the test; checked like the installed ones (`DeclarationError` on a conflict)."""
    test = Capability(name="essai", label="Capacité d'essai", personal_data=NoPersonalData("une capacité de test"),
                      **declarations)
    every = (*capabilities.declared(), test)
    capabilities._check(list(every))
    monkeypatch.setattr(capabilities, "declared", lambda: every)
    return test
