"""The token store: every issued JWT's jti lives in the cache for the token's lifetime.

A token is honoured only while its jti is in the store and was issued in the user's current
session epoch. Logout deletes a jti; "revoke all sessions" moves the epoch on, so every
token issued before is refused at once. A password change is caught by simplejwt's
password-hash claim (CHECK_REVOKE_TOKEN).
"""

import time

from django.core.cache import cache

_JTI_KEY = "auth:jti:{}"
_EPOCH_KEY = "auth:epoch:{}"


def _epoch_of(user_id) -> int:
    return cache.get(_EPOCH_KEY.format(user_id), 0)


def session_token_register(token) -> None:
    """Record a freshly issued token (access or refresh) until it expires."""
    ttl = max(1, int(token["exp"] - time.time()))
    user_id = token["user_id"]
    cache.set(_JTI_KEY.format(token["jti"]), f"{user_id}:{_epoch_of(user_id)}", timeout=ttl)


def session_token_is_live(token) -> bool:
    user_id = token.get("user_id")
    keys = [_JTI_KEY.format(token.get("jti")), _EPOCH_KEY.format(user_id)]
    found = cache.get_many(keys)
    record = found.get(keys[0])
    return record is not None and record == f"{user_id}:{found.get(keys[1], 0)}"


def session_token_consume(token) -> bool:
    """Revoke one token; True only for the caller that removed a live token (rotation race)."""
    live = session_token_is_live(token)
    return bool(cache.delete(_JTI_KEY.format(token["jti"]))) and live


def session_tokens_revoke_all(*, user_id) -> None:
    """Refuse every token the user holds. The epoch outlives any token it guards."""
    key = _EPOCH_KEY.format(user_id)
    cache.add(key, 0, timeout=None)
    cache.incr(key)
