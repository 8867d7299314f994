"""`field__any=[...]` (core.lookups) matches exactly what `field__in=[...]` matches, and on
PostgreSQL sends the list as one array parameter rather than one placeholder per value."""

import uuid

import pytest
from django.db import connection

from core.models import Partner
from core.services import partner_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def partners():
    return [partner_create(slug=f"p{n}", name=f"Partner {n}") for n in range(5)]


@pytest.mark.parametrize(
    "field, pick",
    [
        ("pk", lambda p: p.pk),  # a UUID
        ("slug", lambda p: p.slug),  # a string
    ],
)
def test_any_matches_what_in_matches(partners, field, pick):
    values = [pick(p) for p in partners[1:4]] + [pick(partners[1]), None]
    for chosen in (values, values[:1], [None], []):
        wanted = set(Partner.objects.filter(**{f"{field}__in": chosen}))
        assert set(Partner.objects.filter(**{f"{field}__any": chosen})) == wanted
        assert set(Partner.objects.exclude(**{f"{field}__any": chosen})) == set(
            Partner.objects.exclude(**{f"{field}__in": chosen})
        )
    assert not Partner.objects.filter(pk__any=[uuid.uuid4()]).exists()


@pytest.mark.postgres
def test_on_postgresql_the_values_are_one_array_parameter(partners):
    ids = [p.pk for p in partners]
    query = Partner.objects.filter(pk__any=ids)
    sql, params = query.query.get_compiler(connection=connection).as_sql()
    assert "= ANY(%s)" in sql and params == (ids,)
    assert len(list(query)) == 5
