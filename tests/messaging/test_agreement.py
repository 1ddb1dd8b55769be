"""Every shipped template that names a document agrees with it: rendered for every document kind, the pronouns
and participles follow the name's gender (« votre carte d'identité est prête, venez la retirer… elle sera
détruite » — « votre passeport est prêt, venez le retirer… il sera détruit »)."""

from __future__ import annotations

import re

import pytest

from proactif.messaging import _templating as templating
from proactif.registry import domain
from tests.messaging.texts import context, names_a_document, templates

# What must not be left once a message names a feminine document, and what must not appear for a masculine one
MASCULINE = re.compile(r"\best prêt\b|\bdétruit\b|\ble (retirer|renouveler)\b|Retirez-le\b|\bil sera\b|^Il |\. Il ")
FEMININE = re.compile(r"\bprête\b|\bdétruite\b|\bla (retirer|renouveler)\b|Retirez-la\b|\belle sera\b|^Elle |\. Elle ")


def naming_a_document() -> list[dict]:
    return [t for t in templates() if names_a_document(t)]


def test_the_shipped_templates_that_name_a_document_are_found() -> None:
    keys = {t["key"] for t in naming_a_document()}
    assert {"titre.alerte", "titre.relance", "titre.pret", "titre.rappel_retrait", "abonnement.rappel",
            "abonnement.dernier_rappel"} <= keys


@pytest.mark.parametrize("kind", domain.DOCUMENT_KINDS)
def test_every_template_agrees_with_every_document_kind(kind: str) -> None:
    feminine = kind in domain.FEMININE_DOCUMENTS
    wrong = MASCULINE if feminine else FEMININE
    checked = 0
    for template in naming_a_document():
        rendered = templating.render(template.get("subject", ""), template["body"], context(kind))
        for text in (rendered.subject, rendered.body):
            for line in text.splitlines():
                assert not wrong.search(line.strip()), (kind, template["key"], template["channel"], line)
        checked += 1
    assert checked >= 20


def test_the_ready_title_reads_as_written_in_both_genders() -> None:
    ready = next(t for t in templates() if t["key"] == "titre.pret" and t["channel"] == "sms")
    cni = templating.render("", ready["body"], context("cni")).body
    passport = templating.render("", ready["body"], context("passeport")).body
    assert "votre carte nationale d'identité est prête. Venez la retirer" in cni
    assert "votre passeport est prêt. Venez le retirer" in passport
    reminder = next(t for t in templates() if t["key"] == "titre.rappel_retrait" and t["channel"] == "sms")
    assert "Retirez-la avant le 15 janvier 2027, sinon elle sera détruite." in \
        templating.render("", reminder["body"], context("cni")).body
    assert "Retirez-le avant le 15 janvier 2027, sinon il sera détruit." in \
        templating.render("", reminder["body"], context("passeport")).body
    push = next(t for t in templates() if t["key"] == "titre.alerte" and t["channel"] == "push")
    assert templating.render("", push["body"], context("cni")).body.startswith(
        "Elle expire le 1er mars 2027. Prenez rendez-vous en mairie pour la renouveler.")


def test_sms_keep_their_accents_in_gsm7() -> None:
    from proactif.messaging import domain as messaging

    for template in templates():
        if template["channel"] == "sms":
            assert "Repondez" not in template["body"], template["key"]
    assert messaging.sms_length("Tout va bien ? Répondez OK.").encoding == "GSM-7"


def test_every_shipped_template_previews_with_a_residents_data(agents) -> None:
    """The preview works for every shipped template: what the person has no record of (a document, an appointment,
    an alert) is filled with the declared examples, and said so."""
    from proactif.accounts import services as accounts
    from proactif.accounts.domain import access_for
    from proactif.messaging import services as messaging
    from proactif.messaging.models import Template
    from tests.conftest import some_person_id

    access = access_for(accounts.actor_for_agent(agents["etat_civil"]), None)
    person_id = some_person_id()
    shipped = Template.objects.filter(status="published")
    assert shipped.count() > 100
    for template in shipped:
        rendered, examples = messaging.preview(access, template.pk, person_id)
        assert rendered.body, (template.key, template.channel)
        if "document." in template.body:
            assert "document" in examples
