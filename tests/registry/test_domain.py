from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proactif.kernel.text import prefix_upper_bound, search_key
from proactif.registry import domain
from proactif.registry.domain import FieldError


@given(st.text(max_size=40))
def test_search_key_is_idempotent_and_ascii(text: str) -> None:
    key = search_key(text)
    assert search_key(key) == key
    assert key == key.strip() and "  " not in key
    assert all(ch.isascii() for ch in key)


def test_search_key_folds_accents_ligatures_and_punctuation() -> None:
    assert search_key("Lefèvre-d’Orgeval") == "LEFEVRE D ORGEVAL"
    assert search_key("Œuvré") == "OEUVRE"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ ", min_size=1, max_size=10).filter(lambda s: s.strip()))
def test_prefix_upper_bound_bounds_every_extension(prefix: str) -> None:
    bound = prefix_upper_bound(prefix)
    assert prefix < bound and prefix + "ZZZZ" < bound


@given(sexe=st.sampled_from("12"), year=st.integers(0, 99), month=st.integers(1, 12),
       place=st.sampled_from(["75056", "2A004", "99350", "97411"]), order=st.integers(1, 999))
def test_generated_nirs_validate(sexe: str, year: int, month: int, place: str, order: int) -> None:
    nir = domain.nir_with_key(f"{sexe}{year:02d}{month:02d}{place}{order:03d}")
    assert domain.normalise_nir("nir", nir) == nir
    broken = nir[:-2] + f"{(int(nir[-2:]) + 1) % 97:02d}"
    with pytest.raises(FieldError):
        domain.normalise_nir("nir", broken)


def test_nir_must_agree_with_sex_and_birth_year() -> None:
    nir = domain.nir_with_key("2951099126111")
    assert domain.normalise_nir("nir", nir, sexe="F", born=date(1995, 10, 3)) == nir
    with pytest.raises(FieldError, match="sexe"):
        domain.normalise_nir("nir", nir, sexe="M")
    with pytest.raises(FieldError, match="année"):
        domain.normalise_nir("nir", nir, born=date(1996, 10, 3))


@pytest.mark.parametrize(("raw", "e164", "mobile"), [
    ("06 12 34 56 78", "+33612345678", True), ("+33 1 44 55 66 77", "+33144556677", False),
    ("0033 7 81 23 45 67", "+33781234567", True), ("06.12.34.56.78", "+33612345678", True)])
def test_phones_are_normalised_to_e164(raw: str, e164: str, mobile: bool) -> None:
    phone = domain.normalise_phone("telephone", raw)
    assert phone == domain.Phone(e164, mobile)


@pytest.mark.parametrize("raw", ["12345", "06 12 34", "not a phone", "+33 0 00 00 00 00"])
def test_invalid_phones_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(FieldError) as error:
        domain.normalise_phone("telephone", raw)
    assert error.value.field == "telephone"


def test_emails_are_validated_and_domain_lowercased() -> None:
    assert domain.normalise_email("email", " Marie.Dupont@Exemple.FR ") == "Marie.Dupont@exemple.fr"
    with pytest.raises(FieldError, match="e-mail invalide"):
        domain.normalise_email("email", "marie.dupont@")


@pytest.mark.parametrize(("raw", "expected"), [("31/12/1980", date(1980, 12, 31)), ("1980-12-31", date(1980, 12, 31)),
                                               ("31-12-1980", date(1980, 12, 31)), ("19801231", date(1980, 12, 31))])
def test_dates_in_the_usual_formats(raw: str, expected: date) -> None:
    assert domain.parse_date("d", raw) == expected


def test_impossible_birth_dates_are_refused() -> None:
    today = date(2026, 11, 28)
    with pytest.raises(FieldError, match="invalide"):
        domain.parse_birth_date("date_naissance", "31/02/1980", today)
    with pytest.raises(FieldError, match="impossible"):
        domain.parse_birth_date("date_naissance", "01/01/2030", today)


@pytest.mark.parametrize(("kind", "issued", "born", "expires"), [
    ("passeport", date(2020, 3, 15), date(1980, 1, 1), date(2030, 3, 14)),
    ("passeport", date(2020, 3, 15), date(2010, 1, 1), date(2025, 3, 14)),  # minor: 5 years
    ("cni", date(2015, 6, 1), date(1980, 1, 1), date(2030, 5, 31)),  # adult, 2014–2021: 15 years
    ("cni", date(2010, 6, 1), date(1980, 1, 1), date(2025, 5, 31)),  # adult card of 2004–2013: extended to 15
    ("cni", date(2022, 6, 1), date(1980, 1, 1), date(2032, 5, 31)),  # electronic card: 10 years
    ("cni", date(2015, 6, 1), date(2005, 1, 1), date(2025, 5, 31)),  # minor: 10 years
    ("passeport", date(2016, 2, 29), date(1980, 1, 1), date(2026, 2, 27)),
])
def test_legal_validity_of_identity_documents(kind: str, issued: date, born: date, expires: date) -> None:
    assert domain.default_expiry(kind, issued, born) == expires


def test_document_numbers_follow_their_format() -> None:
    assert domain.check_document_number("numero", "passeport", "18ab12345") == "18AB12345"
    with pytest.raises(FieldError, match="passeport"):
        domain.check_document_number("numero", "passeport", "ABC")


def test_cle_interop_format() -> None:
    assert domain.clean_cle_interop("cle", "21286_2XDJOG_00001") == "21286_2xdjog_00001"
    with pytest.raises(FieldError):
        domain.clean_cle_interop("cle", "21286-2xdjog-1")


AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_opt_in_purposes_need_a_granted_consent() -> None:
    assert not domain.may_contact("information", "email", {}, [])
    assert domain.may_contact("information", "email", {("information", "*"): "granted"}, [])
    assert not domain.may_contact("information", "email", {("information", "*"): "granted",
                                                           ("information", "email"): "revoked"}, [])


def test_opt_out_purposes_are_allowed_unless_refused() -> None:
    assert domain.may_contact("rappels_echeances", "sms", {}, [])
    assert not domain.may_contact("droits", "letter", {("droits", "*"): "denied"}, [])
    assert not domain.may_contact("rappels_echeances", "sms", {}, [domain.OptOutRule("*", "sms")])
    assert domain.may_contact("rappels_echeances", "email", {}, [domain.OptOutRule("*", "sms")])


def test_the_latest_decision_wins() -> None:
    events = [domain.ConsentEvent("information", "*", "granted", AT),
              domain.ConsentEvent("information", "*", "revoked", AT.replace(month=3)),
              domain.ConsentEvent("information", "*", "granted", AT.replace(month=2))]
    assert domain.current_decisions(events) == {("information", "*"): "revoked"}
