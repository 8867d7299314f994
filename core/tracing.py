"""Trace ids: one per request, echoed in X-Trace-ID, bound to every log line and task."""

import re
import uuid

import structlog

TRACE_HEADER = "X-Trace-ID"
# A caller's id is kept (API.md: "the request's own if it sent one") if it looks like an
# id, of any length up to 128: no spaces, quotes, markup or control characters.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def trace_id_new() -> str:
    return uuid.uuid4().hex


def trace_id_from_header(value: str | None) -> str:
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return trace_id_new()


def trace_id_current() -> str:
    """The trace id bound to this request or task ("" outside of one)."""
    return structlog.contextvars.get_contextvars().get("trace_id", "")


def trace_id_bind(trace_id: str) -> None:
    structlog.contextvars.bind_contextvars(trace_id=trace_id)
