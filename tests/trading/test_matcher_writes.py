"""The matcher's hand-built writes: its array literals read back on PostgreSQL as the
values they were built from, and its trade ids are the uuid5 ids trade_id() defines."""

import uuid

import pytest
from django.db import connection

from trading.matching import pg_arrays
from trading.matching.writes import trade_id, trade_id_text


def test_a_trade_id_as_text_is_the_uuid5_trade_id_defines():
    cases = [(1, 1), (2, 10**12), (999_999, 7), *((n, n * 7919) for n in range(1, 2000))]
    for instrument_id, sequence in cases:
        assert trade_id_text(instrument_id, sequence) == str(trade_id(instrument_id, sequence))


@pytest.mark.postgres
@pytest.mark.django_db
def test_array_literals_read_back_as_the_values_they_were_built_from():
    texts = ["", "a,b", '{"x"}', "back\\slash", 'say "hi"', "NULL", " spaced ", "élan", "a\tb"]
    ids = [uuid.uuid4() for _ in range(3)]
    ints = [0, -5, 10**15]
    flags = [True, False, True]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::varchar[], %s::uuid[], %s::bigint[], %s::bool[], %s::uuid[]",
            [
                pg_arrays.texts(texts),
                pg_arrays.uuids(ids),
                pg_arrays.ints(ints),
                pg_arrays.bools(flags),
                pg_arrays.uuids([str(value) for value in ids]),
            ],
        )
        assert cursor.fetchone() == (texts, ids, ints, flags, ids)


def test_a_status_is_written_as_its_value():
    from trading.models import Order

    assert pg_arrays.texts([Order.Status.FILLED, "filled", Order.Side.BUY]) == (
        '{"filled","filled","buy"}'
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_malformed_literal_is_refused_not_misread():
    from django.db import DataError, transaction

    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT %s::uuid[]", [pg_arrays.uuids(["not-a-uuid"])])
