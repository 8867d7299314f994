"""Redis clients for the request path: one connection per thread, checked out once.

redis-py checks a connection out of its pool for every command and back in after it: two
locks, a pid check, a non-blocking peek at the socket (three system calls) and its
observability hooks, as much Python as the round trip itself for a short script. A thread
sends one command after another, never two at once, so each thread keeps one connection
of the process's pool (`single_connection_client`) instead. A connection that breaks is
reconnected by redis-py's retry, as a pooled one would be; a thread that ends gives its
connection back when its client is collected. A forked child starts with pools and
clients of its own, as redis-py's pool does.
"""

import os
import threading
from functools import cache

import redis

_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
_local = threading.local()


def redis_client(url: str) -> redis.Redis:
    """This thread's client of the Redis at `url`."""
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        _local.pid, _local.clients = pid, {}
    client = _local.clients.get(url)
    if client is None:
        client = redis.Redis(connection_pool=_pool(url, pid), single_connection_client=True)
        _local.clients[url] = client
    return client


@cache
def _pool(url: str, pid: int) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, **_OPTIONS)
