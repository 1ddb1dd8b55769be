"""`field__any`: membership in a list as one array parameter, for integer and text fields, empty lists
included (an empty list matches nothing, on both databases)."""

from __future__ import annotations

import pytest

from proactif.registry.models import ContactPoint, OptOut, Person

pytestmark = pytest.mark.django_db


def test_any_matches_like_in_for_integers_texts_foreign_keys_and_empty_lists() -> None:
    ids = list(Person.objects.order_by("id").values_list("id", flat=True)[:5])
    assert sorted(Person.objects.filter(pk__any=ids).values_list("id", flat=True)) == ids
    assert ContactPoint.objects.filter(person_id__any=ids).count() == ContactPoint.objects.filter(
        person_id__in=ids).count()
    values = list(ContactPoint.objects.filter(person_id__in=ids).values_list("value", flat=True))
    assert ContactPoint.objects.filter(value__any=values).count() >= len(values) > 0
    assert not Person.objects.filter(pk__any=[]).exists()
    assert not OptOut.objects.filter(contact_value__any=[]).exists()
    assert not OptOut.objects.filter(contact_value__any=["123"]).exists()
