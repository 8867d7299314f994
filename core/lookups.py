"""`field__any=[...]`: `field IN (...)` with the list as one array parameter on PostgreSQL
(`field = ANY(%s)`). A 500-value IN list is 500 placeholders for Django to compile and for
psycopg to convert, which cost more than running the query (a settlement chunk makes
several such reads). Elsewhere it is Django's own `__in`; the same values match either way
(None never matches, an empty list matches nothing)."""

from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class AnyOf(In):
    lookup_name = "any"

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql" or not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        from django.core.exceptions import EmptyResultSet

        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(value, connection, prepared=True)
            for value in dict.fromkeys(self.rhs)  # unique, in order, as In's OrderedSet
            if value is not None
        ]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, values)
