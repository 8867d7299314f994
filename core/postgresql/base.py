"""Django's PostgreSQL backend, with a health check that costs no round trip.

With CONN_HEALTH_CHECKS Django checks a persistent connection before its first use in each
request by running `SELECT 1`: a round trip per request, and on a busy 2-core machine
a context switch each way. A connection the server has closed (restart, idle timeout,
pg_terminate_backend) has its socket readable: the server's goodbye or the end of the
stream, since an idle connection that LISTENs to nothing is never sent anything else. So
the socket is polled first, without waiting, and only a readable one gets Django's own
`SELECT 1`, which closes it when that fails (the request then connects afresh).
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
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
