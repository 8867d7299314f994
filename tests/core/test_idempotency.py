"""Idempotency-Key on create endpoints (API.md): replay, 422 on another body, 409 while in
flight, scoped per partner, 24 h retention. Exercised through a test-only create endpoint
that records one audit event per real execution."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core import tasks
from core.idempotency import request_fingerprint
from core.models import AuditEvent, IdempotentRequest
from tests.core import urls_for_errors
from tests.core.envelope import assert_envelope

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls_for_errors")]

NOTES = "/api/v1/test/notes/"


def _post(client, body, key=None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(NOTES, body, format="json", **headers)


def _notes_created() -> int:
    return AuditEvent.objects.filter(action="test.note").count()


def test_without_a_key_every_post_creates(partner_api):
    assert _post(partner_api, {"note": "a"}).status_code == 201
    assert _post(partner_api, {"note": "a"}).status_code == 201

    assert _notes_created() == 2


def test_a_replay_returns_the_first_answer_and_creates_nothing(partner_api):
    first = _post(partner_api, {"note": "buy the dip"}, key="key-0001")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first

    replay = _post(partner_api, {"note": "buy the dip"}, key="key-0001")

    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert _notes_created() == 1


def test_the_same_key_with_another_body_is_422_idempotency_key_reused(partner_api):
    _post(partner_api, {"note": "first"}, key="key-0002")

    response = _post(partner_api, {"note": "second"}, key="key-0002")

    assert_envelope(response, status=422, code="idempotency_key_reused")
    assert _notes_created() == 1


def test_a_duplicate_while_the_first_is_in_flight_is_409_idempotency_in_progress(
    partner_api, partner
):
    IdempotentRequest.objects.create(  # the first request is still running
        partner=partner,
        key="key-0003",
        request_hash=request_fingerprint(method="POST", path=NOTES, body={"note": "n"}),
        created_at=timezone.now(),
    )

    response = _post(partner_api, {"note": "n"}, key="key-0003")

    assert_envelope(response, status=409, code="idempotency_in_progress")
    assert _notes_created() == 0


def test_keys_are_scoped_per_partner(partner_api, other_partner_api):
    alpha = _post(partner_api, {"note": "alpha's"}, key="shared-key")

    beta = _post(other_partner_api, {"note": "beta's"}, key="shared-key")

    assert alpha.status_code == beta.status_code == 201
    assert "Idempotent-Replayed" not in beta
    assert beta.json()["note"] == "beta's"
    assert _notes_created() == 2


def test_a_key_longer_than_255_characters_is_400(partner_api):
    response = _post(partner_api, {"note": "n"}, key="k" * 256)

    body = assert_envelope(response, status=400, code="validation_error")
    assert "Idempotency-Key" in body["details"]
    assert _notes_created() == 0
    assert _post(partner_api, {"note": "n"}, key="k" * 255).status_code == 201


def test_an_empty_key_is_400(partner_api):
    assert_envelope(_post(partner_api, {"note": "n"}, key=""), status=400, code="validation_error")


def test_a_client_error_is_remembered_and_replayed(partner_api):
    first = _post(partner_api, {"note": ""}, key="key-0004")
    assert_envelope(first, status=400, code="validation_error")

    replay = _post(partner_api, {"note": ""}, key="key-0004")

    assert replay.status_code == 400
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"


def test_a_server_error_releases_the_key_for_a_retry(partner_api):
    failed = _post(partner_api, {"note": "n", "fail": True}, key="key-0005")
    assert_envelope(failed, status=500, code="internal_error")
    assert not IdempotentRequest.objects.filter(key="key-0005").exists()

    retried = _post(partner_api, {"note": "n"}, key="key-0005")

    assert retried.status_code == 201
    assert _notes_created() == 1


def test_a_key_older_than_24_hours_is_purged_and_can_be_used_afresh(partner_api):
    _post(partner_api, {"note": "yesterday"}, key="key-0006")
    _post(partner_api, {"note": "today"}, key="key-0007")
    IdempotentRequest.objects.filter(key="key-0006").update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )

    assert tasks.idempotency_keys_purge.delay().get() == 1

    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["key-0007"]
    response = _post(partner_api, {"note": "a different order"}, key="key-0006")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert _notes_created() == 3


def _held_first_then(partner_api, monkeypatch, *, key: str):
    """Sends a request that is held inside the endpoint (its first audit write) while the
    test sends another with the same key from this thread; returns (first, second)."""
    inside, release = threading.Event(), threading.Event()
    real_audit_record = urls_for_errors.audit_record
    calls = []

    def first_call_held(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            inside.set()
            assert release.wait(timeout=10)
        return real_audit_record(**kwargs)

    monkeypatch.setattr(urls_for_errors, "audit_record", first_call_held)
    access = partner_api.tokens["access"]
    results = {}

    def first_request():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        try:
            results["first"] = _post(client, {"note": "once"}, key=key)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert inside.wait(timeout=10)
        second = _post(partner_api, {"note": "once"}, key=key)
    finally:
        release.set()
        thread.join(timeout=10)
    return results["first"], second


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_execute_once(partner_api, monkeypatch):
    """The first request is held inside the endpoint; its duplicate, sent meanwhile from
    another connection, is told 409; once the first finishes, a retry gets the replay."""
    first, duplicate = _held_first_then(partner_api, monkeypatch, key="race-key")

    assert_envelope(duplicate, status=409, code="idempotency_in_progress")
    assert first.status_code == 201
    retry = _post(partner_api, {"note": "once"}, key="race-key")
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert _notes_created() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_whose_stale_key_was_taken_over_keeps_nothing(partner_api, monkeypatch, settings):
    """The first request runs past IDEMPOTENCY_STALE_AFTER; a retry takes the key over and
    completes. The first then finds the key no longer its own: its work rolls back and it
    answers 409, so the note is created once."""
    settings.IDEMPOTENCY_STALE_AFTER = timedelta(0)

    first, takeover = _held_first_then(partner_api, monkeypatch, key="stale-key")

    assert takeover.status_code == 201
    assert_envelope(first, status=409, code="idempotency_in_progress")
    assert _notes_created() == 1
    replay = _post(partner_api, {"note": "once"}, key="stale-key")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == takeover.json()
