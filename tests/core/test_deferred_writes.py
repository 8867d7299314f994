"""core.postgresql's deferred writes: sent with the transaction's next statement or its
COMMIT, in the order issued; an error in one fails that statement or the COMMIT and leaves
nothing; a rollback drops what was never sent. Real commits, on PostgreSQL."""

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INSERT = "INSERT INTO deferred_probe (id, note) VALUES (%s, %s)"


@pytest.fixture(autouse=True)
def probe_table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE deferred_probe (id integer PRIMARY KEY, note text)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE deferred_probe")


def _committed() -> list[tuple]:
    """What another session sees: only what committed."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
    ) as other:
        return other.execute("SELECT id, note FROM deferred_probe ORDER BY id").fetchall()


def test_a_deferred_write_commits_with_its_transaction():
    with transaction.atomic():
        connection.execute_deferred(INSERT, [1, "first"])
        assert _committed() == []  # not even sent yet

    assert _committed() == [(1, "first")]


def test_the_next_statement_sees_it_and_statements_keep_their_order():
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        connection.execute_deferred(INSERT, [1, "first"])
        connection.execute_deferred("UPDATE deferred_probe SET note = 'second' WHERE id = 1", [])
        with connection.cursor() as cursor:
            cursor.execute("SELECT note FROM deferred_probe WHERE id = 1")
            assert cursor.fetchone() == ("second",)

    assert [q["sql"].split()[0] for q in queries] == ["INSERT", "UPDATE", "SELECT"]  # counted
    assert _committed() == [(1, "second")]


def test_the_statement_sent_with_deferred_writes_answers_for_itself():
    with transaction.atomic():
        connection.execute_deferred(INSERT, [1, "a"])
        connection.execute_deferred(INSERT, [2, "b"])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE deferred_probe SET note = 'c' WHERE id >= 1")
            assert cursor.rowcount == 2  # the UPDATE's count, not the last INSERT's

    assert _committed() == [(1, "c"), (2, "c")]


def test_a_server_side_cursor_sees_what_was_deferred_before_it():
    with transaction.atomic():
        connection.execute_deferred(INSERT, [1, "first"])
        with connection.chunked_cursor() as cursor:  # what QuerySet.iterator() uses
            cursor.execute("SELECT note FROM deferred_probe")
            assert cursor.fetchall() == [("first",)]

    assert _committed() == [(1, "first")]


def test_a_failing_deferred_write_fails_the_commit_and_leaves_nothing(caplog):
    with transaction.atomic():
        connection.execute_deferred(INSERT, [1, "kept"])

    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(INSERT, [2, "same transaction"])
        connection.execute_deferred(INSERT, [1, "duplicate"])  # refused only when sent

    assert _committed() == [(1, "kept")]
    assert not [r for r in caplog.records if r.name == "psycopg"]  # no "pipeline aborted" noise
    with transaction.atomic():  # the connection is usable again
        connection.execute_deferred(INSERT, [3, "after"])
    assert _committed() == [(1, "kept"), (3, "after")]


def test_a_failing_deferred_write_fails_the_next_statement_inside_its_savepoint():
    with transaction.atomic():
        connection.execute_deferred(INSERT, [1, "outer"])
        with pytest.raises(IntegrityError), transaction.atomic():
            connection.execute_deferred(INSERT, [1, "duplicate"])
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        connection.execute_deferred(INSERT, [2, "outer again"])

    assert _committed() == [(1, "outer"), (2, "outer again")]


def test_a_rollback_drops_what_was_never_sent():
    with transaction.atomic():
        connection.execute_deferred(INSERT, [1, "kept"])

    with pytest.raises(RuntimeError), transaction.atomic():
        connection.execute_deferred(INSERT, [1, "would fail if it were sent"])
        raise RuntimeError("the caller gives up")

    assert _committed() == [(1, "kept")]


def test_a_deferred_write_needs_a_transaction():
    with pytest.raises(TransactionManagementError):
        connection.execute_deferred(INSERT, [1, "autocommit"])
