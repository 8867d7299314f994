"""Who may run an instrument's book: PostgreSQL advisory locks, keyed per instrument.

- The matcher process takes a *session* lock per instrument (`pg_try_advisory_lock`) on
  the connection its batches run on, and remembers that connection (`session`). Every
  batch first checks it is still the same (`fence`): a batch can then only commit on the
  connection that holds the lock, because if that connection dies, the lock and the open
  batch die with it. A second matcher's try fails and it stands by.
- The inline matcher (embedded default, in a web process) takes the same key as a
  *transaction* lock (`pg_advisory_xact_lock`, waiting up to INLINE_WAIT_MS): two requests
  queue, and while a matcher process holds the session lock, inline matching steps aside.
SQLite has one writer at a time and no advisory locks: the functions answer yes there.
"""

from django.db import connection
from django.db.utils import OperationalError

LOCK_CLASS = 0x4D544348  # "MTCH": the first key of every matcher lock; the second is the id
INLINE_WAIT_MS = 2000


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def session_lock_try(instrument_id: int) -> bool:
    if not _postgres():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)", [LOCK_CLASS, instrument_id])
        return cursor.fetchone()[0]


def session_unlock_all() -> None:
    if _postgres() and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")


def session() -> object | None:
    """This thread's database session, without a round trip: the driver's connection
    object. A driver connection never reconnects; when Django reconnects, it makes a new
    one, so the same object means the same server session (and the locks it holds)."""
    if not _postgres():
        return None
    connection.ensure_connection()
    return connection.connection


def backend_pid() -> int | None:
    """The server process behind this thread's connection (None on SQLite)."""
    if not _postgres():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def transaction_lock_wait(instrument_id: int, *, wait_ms: int = INLINE_WAIT_MS) -> bool:
    """Inside a transaction: the instrument's lock until it ends, or False after `wait_ms`
    (a matcher process holds it). Runs in a savepoint so a timeout spoils nothing."""
    if not _postgres():
        return True
    from django.db import transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait_ms}ms"])
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::int, %s::int)", [LOCK_CLASS, instrument_id]
            )
            cursor.execute("SELECT set_config('lock_timeout', '0', true)")
    except OperationalError:  # lock_timeout: 55P03
        return False
    return True


def holder_pids(instrument_id: int) -> list[int]:
    """Backends holding the instrument's lock (for the console and the tests)."""
    if not _postgres():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2",
            [LOCK_CLASS, instrument_id],
        )
        return [row[0] for row in cursor.fetchall()]
