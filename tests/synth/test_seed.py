import pytest
from shapely.geometry import Point, shape

from proactif.registry import services as registry
from proactif.registry.models import Address, Person
from proactif.synth import services as synth
from tests.conftest import SEED_RESIDENTS, reference_file

pytestmark = pytest.mark.django_db


def test_the_seeded_commune_has_the_residents_asked_for() -> None:
    assert Person.objects.filter(source="synth").count() == SEED_RESIDENTS
    counts = registry.counts()
    assert counts["households"] > SEED_RESIDENTS / 2.4 and counts["documents"] > SEED_RESIDENTS / 2


def test_addresses_lie_inside_their_quartier() -> None:
    reference_file("quartier_paris.geojson")
    polygons = {q.pk: shape(q.geometry) for q in registry.quartiers()}
    assert len(polygons) == 80
    addresses = list(Address.objects.values_list("quartier_id", "lon", "lat"))
    inside = sum(polygons[q].contains(Point(lon, lat)) for q, lon, lat in addresses)
    assert inside == len(addresses)


def test_seeding_a_registry_that_has_residents_needs_reset() -> None:
    with pytest.raises(synth.SeedError, match="--reset"):
        synth.seed(10, 1)


def test_reseeding_with_the_same_seed_gives_the_same_people() -> None:
    def fingerprint() -> list[tuple]:
        return list(Person.objects.order_by("id")
                    .values_list("nom_naissance", "prenoms", "date_naissance", "nir")[:300])

    synth.seed(300, 3, reset=True, parallel=False)
    first = fingerprint()
    synth.seed(300, 3, reset=True, parallel=True)
    assert fingerprint() == first
