"""French takes the singular for 0 and 1: the platform's strings, written in French without a catalogue, follow
French's rule rather than the English fallback Django applies to a string no catalogue holds."""

from __future__ import annotations

from django.template import Context, Template
from django.utils.translation import ngettext, npgettext, override


def test_zero_and_one_take_the_singular_two_the_plural() -> None:
    template = Template("{% load i18n %}{% blocktranslate count n=k %}{{ n }} abonné confirmé.{% plural %}"
                        "{{ n }} abonnés confirmés.{% endblocktranslate %}")
    with override("fr"):
        assert [template.render(Context({"k": k})) for k in (0, 1, 2, 12)] == [
            "0 abonné confirmé.", "1 abonné confirmé.", "2 abonnés confirmés.", "12 abonnés confirmés."]
        assert [ngettext("visite", "visites", n) for n in (0, 1, 2)] == ["visite", "visite", "visites"]
        assert npgettext("lettre", "envoi", "envois", 0) == "envoi"
        # Django's own French catalogue keeps its entries (and the same rule)
        assert ngettext("%(num)d minute", "%(num)d minutes", 0) % {"num": 0} == "0 minute"
