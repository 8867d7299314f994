"""Django's PostgreSQL backend, with two round trips saved: a health check that costs none,
and writes sent with the statement (or the COMMIT) that follows them.

**Health check.** With CONN_HEALTH_CHECKS Django checks a persistent connection before its
first use in each request by running `SELECT 1`: a round trip per request, and on a busy
2-core machine a context switch each way. A connection the server has closed (restart,
idle timeout, pg_terminate_backend) has its socket readable: the server's goodbye or the
end of the stream, since an idle connection that LISTENs to nothing is never sent anything
else. So the socket is polled first, without waiting, and only a readable one gets
Django's own `SELECT 1`, which closes it when that fails (the request then connects afresh).

**Deferred writes** (`execute_deferred`). A write whose result nobody reads (the ledger's
posting: its rows were checked under the accounts' locks before it is sent) need not cost
a round trip of its own: it is queued and sent in one pipeline with the next statement of
the transaction, or with its COMMIT. While a transaction holds a hot row's lock, every
round trip is a wait for the network and then for the CPU (and the GIL) before the next
statement can go; the ledger's write and the COMMIT as one trip release the lock a trip
sooner. Nothing else changes: the statements run in the order they were issued, anything
the transaction runs next sees the write, an error in it fails that statement or the
COMMIT (and the transaction rolls back, as Django always does when a commit fails), a
rollback drops what was never sent, and statements are logged and counted as before.
"""

import logging
import select

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from django.db.transaction import TransactionManagementError


class _PipelineUnwinding(logging.Filter):
    """psycopg logs a warning when leaving a pipeline whose statement failed: the Sync it
    sends on the way out fails too ("pipeline aborted"). The statement's own error is what
    propagates (a deferred write refused, e.g. a replayed id the ledger then looks up), so
    the second one says nothing new."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            str(record.msg).startswith("error ignored terminating")
            and len(args) == 2
            and isinstance(args[1], psycopg.errors.PipelineAborted)
        )


logging.getLogger("psycopg").addFilter(_PipelineUnwinding())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._deferred: list[tuple[str, object]] = []
        self.execute_wrappers.append(self._deferred_sent_first)

    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if readable:  # something arrived unasked: ask properly
            return super().is_usable()
        return True

    # --- Deferred writes ------------------------------------------------------------------

    def execute_deferred(self, sql: str, params) -> None:
        """Run `sql` in this transaction, sent with its next statement or its COMMIT."""
        if self.get_autocommit():
            raise TransactionManagementError("A deferred write needs a transaction.")
        self._deferred.append((sql, params))

    def deferred_send(self) -> None:
        """Send what is deferred now (a test measuring the statements of what comes next)."""
        if self._deferred:
            pending, self._deferred = self._deferred, []
            with self.wrap_database_errors, self.connection.pipeline(), self.cursor() as cursor:
                self._send(pending, cursor)

    def _deferred_sent_first(self, execute, sql, params, many, context):
        if not self._deferred:
            return execute(sql, params, many, context)
        if isinstance(context["cursor"].cursor, psycopg.ServerCursor):
            self.deferred_send()  # a server-side cursor cannot run in a pipeline
            return execute(sql, params, many, context)
        pending, self._deferred = self._deferred, []  # taken, even if sending them fails
        with self.wrap_database_errors, self.connection.pipeline():
            self._send(pending, context["cursor"])
            return execute(sql, params, many, context)

    def _send(self, pending, cursor) -> None:
        for deferred_sql, deferred_params in pending:
            # The wrapped cursor, so a deferred statement is logged and counted like any
            # other; the list is empty now, so this wrapper lets it through.
            cursor.execute(deferred_sql, deferred_params)

    def _commit(self):
        if not self._deferred or self.connection is None:
            return super()._commit()
        pending, self._deferred = self._deferred, []
        with self.wrap_database_errors, self.connection.pipeline():
            with self.cursor() as cursor:
                self._send(pending, cursor)
            # COMMIT as one more statement of the pipeline: psycopg's commit() would wait
            # for it, and leaving the pipeline then costs another round trip for its Sync.
            # A failed write skips it (the pipeline aborts), and Django rolls back.
            with debug_transaction(self, "COMMIT"):
                self.connection.execute("COMMIT")

    def _rollback(self):
        self._deferred = []  # never sent: nothing to undo
        return super()._rollback()

    def _close(self):
        self._deferred = []
        return super()._close()
