"""Messaging rules as pure functions: SMS encoding, holidays, quiet hours, caps, channel choice, backoff."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from proactif.messaging import _sendtime as sendtime
from proactif.messaging import _templating as templating
from proactif.messaging import domain

PARIS = ZoneInfo("Europe/Paris")
CAYENNE = ZoneInfo("America/Cayenne")  # UTC-3 all year, no summer time


def test_gsm7_text_fits_160_characters_and_one_apostrophe_switches_to_ucs2() -> None:
    plain = "Bonjour, votre passeport expire le 12/05/2027. Prenez rendez-vous en mairie." + "x" * 84
    assert len(plain) == 160
    assert domain.sms_length(plain) == domain.SmsLength("GSM-7", 160, 1, 160, ())
    curly = plain[:-1] + "’"
    length = domain.sms_length(curly)
    assert (length.encoding, length.segments, length.per_segment, length.offending) == ("UCS-2", 3, 67, ("’",))


def test_oe_ligature_forces_ucs2_and_the_gsm_safe_rendering_brings_it_back() -> None:
    text = "Votre cœur de ville : l’accueil est fermé lundi. Numéro : 01 99 00 12 34 – à bientôt !"
    assert domain.sms_length(text).encoding == "UCS-2"
    safe = domain.gsm_safe(text)
    assert safe == "Votre coeur de ville : l'accueil est fermé lundi. Numéro : 01 99 00 12 34 - à bientot !"
    assert domain.sms_length(safe).encoding == "GSM-7" and domain.sms_length(safe).segments == 1


def test_extended_characters_cost_two_septets_and_long_messages_split_in_153() -> None:
    assert domain.sms_length("€").units == 2
    assert domain.sms_length("a" * 161).segments == 2
    assert domain.sms_length("a" * 306).segments == 2 and domain.sms_length("a" * 307).segments == 3
    assert domain.sms_length("").segments == 0


def test_french_public_holidays_follow_easter() -> None:
    assert domain.easter(2027) == date(2027, 3, 28)
    holidays = domain.public_holidays(2027)
    assert holidays[date(2027, 3, 29)] == "Lundi de Pâques" and holidays[date(2027, 5, 6)] == "Ascension"
    assert len(holidays) == 11 and len(domain.public_holidays(2027, alsace_moselle=True)) == 13


def test_quiet_hours_hold_messages_until_the_next_allowed_morning() -> None:
    quiet = domain.QuietHours()
    saturday_night = datetime(2026, 12, 19, 21, 30, tzinfo=PARIS)
    assert not quiet.allows(saturday_night)
    # Sunday 20 is closed, Monday 21 at 08:00 opens
    assert quiet.next_allowed(saturday_night) == datetime(2026, 12, 21, 8, 0, tzinfo=PARIS)
    christmas_eve = datetime(2026, 12, 24, 19, 59, tzinfo=PARIS)
    assert quiet.allows(christmas_eve)
    assert quiet.next_allowed(christmas_eve + timedelta(minutes=1)) == datetime(2026, 12, 26, 8, 0, tzinfo=PARIS)
    assert quiet.allows(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))  # 08:00 in Paris
    assert domain.QuietHours(sundays=True).allows(datetime(2026, 12, 20, 10, 0, tzinfo=PARIS))
    assert domain.parse_hours("09:00-18:30") == (time(9), time(18, 30))
    with pytest.raises(ValueError, match="plage horaire invalide"):
        domain.parse_hours("9h-18h")


def test_quiet_hours_follow_the_collectivites_time_zone() -> None:
    quiet = domain.QuietHours(time(8), time(20), tz=CAYENNE)
    ten, noon = datetime(2026, 12, 1, 10, 0, tzinfo=UTC), datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert domain.QuietHours().allows(ten)  # 11:00 in Paris…
    assert not quiet.allows(ten)  # …but 07:00 in Cayenne
    assert quiet.allows(noon)  # 09:00 in Cayenne
    assert quiet.next_allowed(ten) == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # 08:00 in Cayenne
    assert quiet.allows(datetime(2026, 12, 1, 22, 30, tzinfo=UTC))  # 19:30 in Cayenne, 23:30 in Paris
    assert not quiet.allows(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # 20:00 in Cayenne
    # Monday 02:00 UTC is still Sunday 23:00 in Cayenne: the next opening is Monday 08:00 there
    assert quiet.next_allowed(datetime(2026, 12, 21, 2, 0, tzinfo=UTC)) == datetime(2026, 12, 21, 11, 0, tzinfo=UTC)


def test_sending_windows_and_hours_of_the_week_are_in_the_given_time_zone() -> None:
    window = sendtime.Window((0, 1, 2, 3, 4), time(9), time(19))
    monday_noon_utc = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 09:00 in Cayenne, 13:00 in Paris
    assert window.candidates(monday_noon_utc, CAYENNE)[0] == datetime(2026, 11, 30, 9, 0, tzinfo=CAYENNE)
    assert window.candidates(monday_noon_utc, PARIS)[0] == datetime(2026, 11, 30, 13, 0, tzinfo=PARIS)
    assert sendtime.hour_of_week(monday_noon_utc, CAYENNE) == 9
    assert sendtime.hour_of_week(monday_noon_utc, PARIS) == 13


def test_frequency_caps_release_when_the_oldest_counted_message_ages_out() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    caps = domain.Caps(per_day=2, per_week=5)
    assert domain.cap_release([now - timedelta(hours=3)], now, caps) is None
    two_today = [now - timedelta(hours=5), now - timedelta(hours=1)]
    assert domain.cap_release(two_today, now, caps) == now - timedelta(hours=5) + timedelta(days=1)
    five_this_week = [now - timedelta(days=d) for d in (6, 5, 4, 3, 2)]
    assert domain.cap_release(five_this_week, now, caps) == now - timedelta(days=6) + timedelta(days=7)


def test_channel_choice_follows_preferences_then_falls_back_on_what_is_allowed_and_reachable() -> None:
    person = domain.Recipient(("sms", "email"), {"sms": "+33612345678", "email": "a@b.fr", "letter": "1 rue"},
                              frozenset({"email", "letter"}))
    assert domain.choose_channel(["preferred"], person) == "email"  # SMS refused
    assert domain.choose_channel(["preferred", "letter"], person, tried=["email"]) == "letter"
    assert domain.choose_channel(["sms"], person) is None
    assert domain.channel_order(["preferred"], ()) == list(domain.DEFAULT_ORDER)
    with pytest.raises(ValueError, match="canal inconnu"):
        domain.channel_order(["fax"], ())


def test_backoff_doubles_and_is_capped() -> None:
    assert [domain.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


def test_templates_refuse_unknown_placeholders_with_line_numbers() -> None:
    assert templating.check("Bonjour {{ personne.prenom }}, {{ lien }}") == ["lien", "personne.prenom"]
    with pytest.raises(templating.TemplateError) as error:
        templating.check("Bonjour {{ personne.prenon }}\n{{ adresse_secrete }}")
    assert error.value.messages[0].startswith("ligne 1 : champ inconnu « personne.prenon »")
    assert error.value.messages[1].startswith("ligne 2 : donnée inconnue « adresse_secrete »")
    assert templating.check("{% for p in pieces %}- {{ p }}\n{% endfor %}", {"pieces": None}) == ["pieces"]
    with pytest.raises(templating.TemplateError, match="donnée inconnue « pieces »"):
        templating.check("{% for p in pieces %}- {{ p }}\n{% endfor %}")  # only when a capability declares it
    with pytest.raises(templating.TemplateError, match="syntaxe incorrecte"):
        templating.check("{{ personne.prenom ")


def test_rendering_reports_missing_data_and_the_sandbox_blocks_code() -> None:
    ok = templating.render("", "Bonjour {{ personne.prenom }}", {"personne": {"prenom": "Léa"}})
    assert ok.body == "Bonjour Léa"
    with pytest.raises(templating.MissingData, match="« rendez_vous » absent"):
        templating.render("", "Le {{ rendez_vous.date }}", {"personne": {}})
    with pytest.raises(templating.MissingData, match="opération interdite"):
        templating.render("", "{{ texte.__class__.__mro__ }}", {"texte": "x"})
