"""The recipients a journey's send node may address besides its person (`to: <code>`), as capabilities declare
them: found by code, each code declared once."""

from __future__ import annotations

import pytest

from proactif.kernel import capabilities
from proactif.kernel.capabilities import DeclarationError, Recipients
from tests.messaging.declaring import declare


def nobody(instances: list) -> dict:
    return {}


def test_recipients_are_found_by_their_code_and_declared_once(monkeypatch) -> None:
    contact = Recipients("essai.contact", "Personne à prévenir", nobody)
    declare(monkeypatch, recipients=(contact,))
    assert capabilities.recipients("essai.contact") is contact and capabilities.recipients("essai.autre") is None
    assert "essai.contact" in capabilities.recipients_codes()
    with pytest.raises(DeclarationError, match=r"recipients code « essai\.contact » declared twice"):
        declare(monkeypatch, recipients=(contact, Recipients("essai.contact", "Référent", nobody)))
