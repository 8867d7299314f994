"""Idempotency-Key (IETF draft semantics), scoped to the partner.

Same key + same request within the TTL: the first response again, marked
`Idempotent-Replayed: true`. Same key + another request: `422 idempotency_key_reused`.
While the first is still running: `409 idempotency_in_progress`.
"""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from core.models import IdempotentRequest

MAX_KEY_LENGTH = 255


def request_fingerprint(*, method: str, path: str, body) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def idempotency_key_claim(*, partner_id, key: str, fingerprint: str) -> IdempotentRequest:
    """Claim `key` for this request, or return the completed earlier request to replay.

    Raises IdempotencyKeyReused / IdempotencyInProgress as the contract says.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            details={"Idempotency-Key": [f"Must be 1 to {MAX_KEY_LENGTH} characters."]}
        )
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(
                    partner_id=partner_id, key=key, request_hash=fingerprint, created_at=now
                )
        except IntegrityError:
            pass
        with transaction.atomic():
            existing = (
                IdempotentRequest.objects.select_for_update()
                .filter(partner_id=partner_id, key=key)
                .first()
            )
            if existing is None:  # released or purged since our insert failed: try again
                continue
            expired = existing.created_at < now - settings.IDEMPOTENCY_KEY_TTL
            stale = (
                existing.state == IdempotentRequest.State.IN_PROGRESS
                and existing.created_at < now - settings.IDEMPOTENCY_STALE_AFTER
            )
            if expired or stale:  # the old claim is void: this request takes the key over
                existing.request_hash = fingerprint
                existing.state = IdempotentRequest.State.IN_PROGRESS
                existing.response_status = existing.response_body = None
                existing.created_at = now
                existing.save(
                    update_fields=[
                        "request_hash",
                        "state",
                        "response_status",
                        "response_body",
                        "created_at",
                    ]
                )
                return existing
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        if existing.state == IdempotentRequest.State.IN_PROGRESS:
            raise IdempotencyInProgress()
        return existing
    raise IdempotencyInProgress()  # the key keeps changing hands: the client should retry


def idempotency_key_complete(*, claim: IdempotentRequest, status: int, body) -> None:
    """Store the answer, if the key is still this request's: a retry may have taken over a
    claim that looked stale (IDEMPOTENCY_STALE_AFTER). Then IdempotencyInProgress is
    raised, and the caller's transaction, the work included, must roll back: only the
    request holding the key may commit what it did."""
    stored = _still_ours(claim).update(
        state=IdempotentRequest.State.COMPLETED, response_status=status, response_body=body
    )
    if not stored:
        raise IdempotencyInProgress()


def idempotency_key_release(*, claim: IdempotentRequest) -> None:
    """The request failed in a way worth retrying (5xx, throttled): forget the key, unless
    another request has taken it over meanwhile."""
    _still_ours(claim).delete()


def _still_ours(claim: IdempotentRequest):
    return IdempotentRequest.objects.filter(
        pk=claim.pk, created_at=claim.created_at, state=IdempotentRequest.State.IN_PROGRESS
    )


def idempotency_keys_purge() -> int:
    """Delete keys older than the retention window; returns how many went."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
