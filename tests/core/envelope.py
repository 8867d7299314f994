"""Assertions shared by the core tests: the one error envelope of API.md."""

ENVELOPE_KEYS = {"code", "message", "details", "trace_id"}


def assert_envelope(response, *, status: int, code: str) -> dict:
    """The response is `status` with exactly the envelope body, carrying `code`, and the
    body's trace id is the one in the X-Trace-ID header. Returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    assert body["trace_id"]
    assert body["trace_id"] == response["X-Trace-ID"]
    return body
