"""`field__any=[…]`: membership in a long list of values as one array parameter on PostgreSQL.

`field__in=[…]` with thousands of values writes thousands of placeholders, which the driver adapts one by
one and the server parses — a large share of a batch's time when the engine or the outbox reads data about
2,000 people at once. `__any` sends the list as a single array (`field = ANY(%s)`); elsewhere it is `__in`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Field, ForeignObject, Lookup
from django.db.models.lookups import In

INTEGER_FIELDS = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
                  "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
                  "ForeignKey", "OneToOneField"}


@ForeignObject.register_lookup  # foreign keys keep their own lookups: `person_id__any` needs it there too
@Field.register_lookup
class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return [self.lhs.output_field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if not self.rhs:
            return "1 = 0", []
        if connection.vendor != "postgresql":
            return In(self.lhs, self.rhs).as_sql(compiler, connection)  # type: ignore[no-any-return]
        from proactif.kernel.bulkload import int_array

        lhs, lhs_params = self.process_lhs(compiler, connection)
        integers = self.lhs.output_field.get_internal_type() in INTEGER_FIELDS
        if integers and all(isinstance(value, int) for value in self.rhs):
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, int_array(self.rhs)]
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]
