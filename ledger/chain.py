"""Tamper evidence. Each transfer has a digest over its immutable fields; each account's
entries form a hash chain (entry hash = sha256(previous hash, transfer digest, side,
totals after)). An edited, deleted or reordered transfer breaks a digest or a chain."""

import hashlib
import json

GENESIS = "0" * 64


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def metadata_canonical(metadata) -> str:
    """One text per JSON value: keys sorted, and true never equal to 1 as in Python."""
    if metadata == {} and type(metadata) is dict:  # most transfers': json.dumps gives "{}"
        return "{}"
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"))


# Transfers written before origins existed (migration 0008) carry a digest without them; it
# is accepted only where the origin is what that migration could have set and nothing else
# new is set: any later edit of the origin, its ref or `replaces` still breaks the digest.
LEGACY_ORIGINS = ("partner_api", "staff", "system")


def transfer_digest(transfer) -> str:
    fields = [
        *_digest_fields_v1(transfer),
        transfer.origin,
        transfer.origin_ref,
        str(transfer.replaces_id or ""),
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def transfer_digest_matches(transfer) -> str | None:
    """The digest formula `transfer.digest` was computed with, recomputed: the current one,
    or the one before origins for a row that predates them; None if neither matches."""
    current = transfer_digest(transfer)
    if current == transfer.digest:
        return current
    if (
        transfer.origin in LEGACY_ORIGINS
        and transfer.origin_ref == ""
        and transfer.replaces_id is None
    ):
        legacy = hashlib.sha256("\x1f".join(_digest_fields_v1(transfer)).encode()).hexdigest()
        if legacy == transfer.digest:
            return legacy
    return None


def _digest_fields_v1(transfer) -> list[str]:
    return [
        str(transfer.id),
        transfer.kind,
        str(transfer.debit_account_id),
        str(transfer.credit_account_id),
        transfer.asset_id,
        str(transfer.amount),
        transfer.code,
        transfer.reference,
        metadata_canonical(transfer.metadata),
        str(transfer.pending_id or ""),
        str(transfer.reverses_id or ""),
        str(transfer.batch_id or ""),
        _iso(transfer.expires_at),
        _iso(transfer.created_at),
        str(transfer.created_by_id or ""),
    ]


def entry_hash(*, previous: str, transfer_digest: str, side: str, totals: tuple) -> str:
    text = f"{previous}|{transfer_digest}|{side}|{totals[0]}|{totals[1]}|{totals[2]}|{totals[3]}"
    return hashlib.sha256(text.encode()).hexdigest()
