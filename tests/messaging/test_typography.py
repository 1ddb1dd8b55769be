"""French typography: numbers « 1 620,18 € » (narrow no-break space on pages, letters and e-mail, a plain space in
SMS), typographic apostrophes and no-break spaces where the channel carries Unicode, links untouched."""

from __future__ import annotations

from proactif.kernel.text import NBSP, NNBSP, euros, number_fr
from proactif.messaging import domain


def test_numbers_are_grouped_by_a_narrow_no_break_space_with_a_decimal_comma() -> None:
    assert number_fr(1620.18, 2) == f"1{NNBSP}620,18"
    assert number_fr(19763) == f"19{NNBSP}763" and number_fr(7) == "7"
    assert euros(1620.18, 2) == f"1{NNBSP}620,18{NBSP}€" and euros(150) == f"150{NBSP}€"


def test_unicode_channels_are_typeset_and_links_left_alone() -> None:
    text = "Rappel : l'eau revient à 18 heures ! « Tout va bien ? » https://ex.fr/l/a'b:c [lien personnel]"
    typeset = domain.typeset(text, "email")
    assert typeset == (f"Rappel{NNBSP}: l’eau revient à 18{NBSP}heures{NNBSP}! «{NNBSP}Tout va bien{NNBSP}?{NNBSP}» "
                       "https://ex.fr/l/a'b:c [lien personnel]")
    listed = domain.typeset("Pièces :\n- photo\n– justificatif", "letter")
    assert listed == f"Pièces{NNBSP}:\n- photo\n–{NBSP}justificatif"


def test_sms_keep_plain_forms_in_gsm7() -> None:
    text = f"Vous pourriez avoir droit à : RSA (environ {euros(1620)} par mois). Répondez OK."
    sms = domain.typeset(text, "sms")
    assert sms == "Vous pourriez avoir droit à : RSA (environ 1 620 € par mois). Répondez OK."
    assert domain.sms_length(sms).encoding == "GSM-7"
    assert domain.typeset(text, "email").count(NNBSP) == 2  # « 1 620 » and « : »


def test_counts_agree_with_their_noun() -> None:
    from proactif.kernel.text import count_fr

    forms = "ligne créée|lignes créées|aucune ligne créée"
    assert [count_fr(n, forms) for n in (0, 1, 2, 1250)] == [
        "aucune ligne créée", "1 ligne créée", "2 lignes créées", f"1{NNBSP}250 lignes créées"]
    assert count_fr(0, "habitant|habitants") == "0 habitant"


def test_a_match_probability_is_never_a_round_hundred() -> None:
    from proactif.kernel.text import probability_fr

    assert [probability_fr(p) for p in (0.874, 0.99934, 0.999999)] == [
        f"87,4{NBSP}%", f"99,93{NBSP}%", f"plus de 99,99{NBSP}%"]
