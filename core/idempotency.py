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
    claim.state = IdempotentRequest.State.COMPLETED
    claim.response_status = status
    claim.response_body = body
    claim.save(update_fields=["state", "response_status", "response_body"])


def idempotency_key_release(*, claim: IdempotentRequest) -> None:
    """The request failed in a way worth retrying (5xx, throttled): forget the key."""
    IdempotentRequest.objects.filter(
        pk=claim.pk, state=IdempotentRequest.State.IN_PROGRESS
    ).delete()


def idempotency_keys_purge() -> int:
    """Delete keys older than the retention window; returns how many went."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
