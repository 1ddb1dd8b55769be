"""Synthetic devices over a real Mosquitto (started here on a free port, persistence on): every reading published
is stored once, the rules open alerts on the injected deteriorations, only registered persons get a device; and
the telemetry benchmark at a tiny size reports both rates and their ratio."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proactif.bench import telemetry as bench
from proactif.kernel import clock
from proactif.watch import services
from proactif.watch.models import Alert, DeviceLoan, Observation, Registration
from tests.conftest import require

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def broker_port():
    require(Path(MOSQUITTO).exists(), "mosquitto is not installed")
    with bench.private_broker() as port:
        yield port


def register(persons: int, first: int = 0) -> list[int]:
    """`persons` residents of the synthetic commune enrolled (the simulation lends only to them), and one removed."""
    from proactif.registry.models import Person

    now = clock.now()
    free = list(Person.objects.filter(status="active", source="synth").exclude(
        id__in=Registration.objects.values("person_id")).order_by("id").values_list("id", flat=True)[
        first:first + persons + 1])
    while len(free) < persons + 1:  # a transactional test starts from an empty registry
        free.append(Person.objects.create(nom_naissance="SIMULE", prenoms=f"Personne {len(free)}", sexe="F",
                                          source="synth", nom_cle="simule", prenoms_cle="personne",
                                          updated_at=now).pk)
    for person_id in free[:persons]:
        Registration.objects.create(person_id=person_id, qualite="age_65", requested_on=clock.today(),
                                    requested_by="personne", created_at=now, updated_at=now)
    Registration.objects.create(person_id=free[persons], qualite="age_65", requested_on=clock.today(),
                                status="radiee", requested_by="personne", created_at=now, updated_at=now)
    return free[:persons]


def test_simulated_devices_are_stored_once_and_raise_alerts(broker_port) -> None:
    register(4)
    registered = set(Registration.objects.filter(status="inscrite").values_list("person_id", flat=True))
    asked = len(registered) + 1
    figures = services.simulate_devices(asked, 24, 2, seed=3, port=broker_port)
    assert figures["devices"] == len(registered) and figures["devices_requested"] == asked and "note" in figures
    assert set(DeviceLoan.objects.values_list("person_id", flat=True)) == registered  # never the removed person
    assert figures["published"] == figures["messages_ingested"] > len(registered) * 90  # 96 slots, a few lost
    assert figures["stored"] == figures["readings_published"] == Observation.objects.count()
    assert figures["not_stored"] == 0 and figures["refused"] == 0
    assert figures["alerts_opened"] == Alert.objects.count() >= 1
    assert figures["episodes_injected"] == 2 and 1 <= figures["episodes_caught"] <= 2

    again = services.simulate_devices(asked, 24, 2, seed=3, port=broker_port)  # the same devices, lent once
    assert again["devices"] == len(registered) == DeviceLoan.objects.count()


def test_simulation_needs_registered_persons_and_a_broker(broker_port) -> None:
    Registration.objects.update(status="radiee")
    with pytest.raises(ValueError, match="aucune personne inscrite"):
        services.simulate_devices(3, 6, 1, seed=1, port=broker_port)
    now = clock.now()  # a registered person who is not of the synthetic commune: never lent a simulated device
    real = Registration.objects.create(person_id=2**40, qualite="age_65", requested_on=clock.today(),
                                       requested_by="personne", created_at=now, updated_at=now)
    with pytest.raises(ValueError, match="aucune personne synthétique inscrite"):
        services.simulate_devices(3, 6, 1, seed=1, port=broker_port)
    assert not DeviceLoan.objects.exists()
    real.delete()
    register(1)
    with pytest.raises(ValueError, match="injoignable"):
        services.simulate_devices(1, 6, 0, seed=1, port=bench.free_port())


def test_benchmark_at_a_tiny_size_reports_both_rates() -> None:
    require(Path(MOSQUITTO).exists(), "mosquitto is not installed")
    figures = bench.run(residents=300, devices=30, scenario=(10, 48, 4))
    assert figures["messages"] == 300 and figures["devices"] == 30 and figures["connections"] == 30
    assert figures["raw_subscriber"]["messages"] == 300 and figures["ingester"]["messages"] == 300
    assert figures["ingester"]["readings_stored"] == 300 * 6
    assert figures["ratio"] > 0 and figures["database"] in ("sqlite", "postgresql")
    assert "publish_to_alert_p95_s" in figures
    found = figures["detection"]
    assert found["persons"] == 10 and set(found["by_seed"]) == {1, 2} and "readings" in found["settings"]
    assert all(0 <= run["caught_share"] <= 1 and run["injected"] == 4 for run in found["by_seed"].values())
    assert not Observation.objects.filter(device__serial__startswith="BENCH-").exists()  # cleaned up
