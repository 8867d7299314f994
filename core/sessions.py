"""The token store: every issued JWT's jti lives in the store for the token's lifetime.

A token is honoured only while its jti is in the store, was issued in the user's current
session epoch, and its refresh family has not been revoked. Logout deletes a jti; "revoke
all sessions", a password change, a deactivation (core/signals.py) move the epoch on, so
every token issued before is refused at once. Rotating a refresh token marks its jti
"rotated"; presenting it again is reuse (OAuth 2.0 security BCP): the whole family (every
token descended from the same login) is refused from then on.

On the production stack the store is Redis, and a request's whole check (jti, epoch,
family, and the partner's rate limit) is one Lua script: one round trip. Without Redis
(the embedded default) it is Django's cache, and DRF's throttle counts on its own.
"""

import os
import time
from dataclasses import dataclass
from functools import cache as memoized
from threading import Lock

from django.conf import settings
from django.core.cache import cache

from core.redis_connections import redis_client

_JTI_KEY = "auth:jti:{}"
_EPOCH_KEY = "auth:epoch:{}"
_FAMILY_KEY = "auth:family:{}"
_RATE_KEY = "throttle:partner:{}"
ROTATED = "rotated"
FAMILY_CLAIM = "family"  # the login a token descends from: its first refresh token's jti


@dataclass(frozen=True)
class Verdict:
    """A request's token check: live or not; with the Redis store, also the partner's rate
    (None: not counted here; 0.0: allowed; > 0: refused, seconds until a slot frees)."""

    live: bool
    throttle_wait: float | None = None


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


def session_token_register(token) -> None:
    """Record a freshly issued token (access or refresh) until it expires."""
    _store().register([token])


def session_tokens_register(*tokens) -> None:
    """Record several freshly issued tokens of one user (a login's pair) at once."""
    _store().register(list(tokens))


def session_token_check(token, *, rate: Rate | None = None, rate_ident=None) -> Verdict:
    """Is the token live? With `rate`, also count this request against `rate_ident`'s rate
    in the same round trip (Redis store only; a refused token is not counted)."""
    return _store().check(token, rate=rate, rate_ident=rate_ident)


def session_token_is_live(token) -> bool:
    return _store().check(token).live


def session_token_consume(token) -> bool:
    """Revoke one token; True only for the caller that removed a live token."""
    return _store().consume(token)


def session_refresh_rotate(token) -> str:
    """Mark a refresh token used. "ok" for the one caller that rotated a live token;
    "reused" when it had been rotated before (its family is revoked now); else "refused"."""
    return _store().rotate(token)


def session_tokens_revoke_all(*, user_id) -> None:
    """Refuse every token the user holds. The epoch outlives any token it guards."""
    _store().epoch_move(user_id)


def _record(token, epoch) -> str:
    return f"{token['user_id']}:{epoch}"


def _family_key(token) -> str:
    # Every token session_login issues names its family (the login's first refresh jti).
    return _FAMILY_KEY.format(token.get(FAMILY_CLAIM) or token.get("jti"))


def _ttl(token) -> int:
    return max(1, int(token["exp"] - time.time()))


def _family_ttl() -> int:
    # A family member lives at most one refresh lifetime; none is issued once it is revoked.
    return int(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].total_seconds()) + 60


class CacheTokenStore:
    """Through Django's cache (local memory in the embedded default): a few calls each."""

    def register(self, tokens) -> None:
        epochs = {}
        for token in tokens:
            user_id = token["user_id"]
            if user_id not in epochs:
                epochs[user_id] = cache.get(_EPOCH_KEY.format(user_id), 0)
            record = _record(token, epochs[user_id])
            cache.set(_JTI_KEY.format(token["jti"]), record, timeout=_ttl(token))

    def check(self, token, *, rate=None, rate_ident=None) -> Verdict:
        keys = [
            _JTI_KEY.format(token.get("jti")),
            _EPOCH_KEY.format(token.get("user_id")),
            _family_key(token),
        ]
        found = cache.get_many(keys)
        record = found.get(keys[0])
        live = (
            record is not None
            and record == _record(token, found.get(keys[1], 0))
            and keys[2] not in found
        )
        return Verdict(live=live)

    def consume(self, token) -> bool:
        live = self.check(token).live
        return bool(cache.delete(_JTI_KEY.format(token["jti"]))) and live

    def rotate(self, token) -> str:
        key = _JTI_KEY.format(token["jti"])
        if cache.get(key) == ROTATED:
            cache.set(_family_key(token), 1, timeout=_family_ttl())
            return "reused"
        if not self.consume(token):  # the one caller whose delete removed it wins
            return "refused"
        cache.set(key, ROTATED, timeout=_ttl(token))
        return "ok"

    def epoch_move(self, user_id) -> None:
        key = _EPOCH_KEY.format(user_id)
        cache.add(key, 0, timeout=None)
        cache.incr(key)


# KEYS: jti, epoch, family[, rate]   ARGV: user id[, now, window, limit, member]
_CHECK = """
local record = redis.call('GET', KEYS[1])
if not record then return {0} end
local epoch = redis.call('GET', KEYS[2]) or '0'
if record ~= ARGV[1] .. ':' .. epoch then return {0} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {0} end
if #KEYS < 4 then return {1} end
local now, window, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
if redis.call('ZCARD', KEYS[4]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  return {1, tostring(tonumber(oldest[2]) + window - now)}
end
redis.call('ZADD', KEYS[4], now, ARGV[5])
redis.call('EXPIRE', KEYS[4], math.ceil(window) + 1)
return {1, '0'}
"""

# KEYS: epoch, jti...   ARGV: user id, ttl...
_REGISTER = """
local epoch = redis.call('GET', KEYS[1]) or '0'
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1] .. ':' .. epoch, 'EX', ARGV[i])
end
"""

# KEYS: jti, epoch, family   ARGV: user id
_CONSUME = """
local record = redis.call('GET', KEYS[1])
local epoch = redis.call('GET', KEYS[2]) or '0'
local live = record == ARGV[1] .. ':' .. epoch and redis.call('EXISTS', KEYS[3]) == 0
if record and record ~= 'rotated' then redis.call('DEL', KEYS[1]) end
if live then return 1 end
return 0
"""

# KEYS: jti, epoch, family   ARGV: user id, family ttl
_ROTATE = """
local record = redis.call('GET', KEYS[1])
if record == 'rotated' then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
  return 'reused'
end
local epoch = redis.call('GET', KEYS[2]) or '0'
if record ~= ARGV[1] .. ':' .. epoch or redis.call('EXISTS', KEYS[3]) == 1 then
  return 'refused'
end
redis.call('SET', KEYS[1], 'rotated', 'KEEPTTL')
return 'ok'
"""


class RedisTokenStore:
    """Straight to Redis through this thread's connection (core.redis_connections), each
    operation one script (one round trip). Keys carry the cache's prefix, so cache.clear()
    empties them."""

    def __init__(self, url: str):
        self._url = url
        self._check = self.client.register_script(_CHECK)
        self._register = self.client.register_script(_REGISTER)
        self._consume = self.client.register_script(_CONSUME)
        self._rotate = self.client.register_script(_ROTATE)
        self._key = cache.make_key
        self._sequence = 0
        self._lock = Lock()

    @property
    def client(self):
        return redis_client(self._url)

    def _keys(self, token) -> list[str]:
        return [
            self._key(_JTI_KEY.format(token.get("jti"))),
            self._key(_EPOCH_KEY.format(token.get("user_id"))),
            self._key(_family_key(token)),
        ]

    def register(self, tokens) -> None:
        for user_id in {token["user_id"] for token in tokens}:
            mine = [t for t in tokens if t["user_id"] == user_id]
            keys = [self._key(_EPOCH_KEY.format(user_id))]
            keys += [self._key(_JTI_KEY.format(t["jti"])) for t in mine]
            self._register(keys=keys, args=[user_id, *(_ttl(t) for t in mine)], client=self.client)

    def check(self, token, *, rate=None, rate_ident=None) -> Verdict:
        keys, args = self._keys(token), [str(token.get("user_id"))]
        if rate is not None:
            with self._lock:
                self._sequence += 1
                member = f"{time.time_ns()}:{os.getpid()}:{self._sequence}"  # unique
            keys.append(self._key(_RATE_KEY.format(rate_ident)))
            args += [repr(time.time()), rate.seconds, rate.requests, member]
        answer = self._check(keys=keys, args=args, client=self.client)
        if not answer[0]:
            return Verdict(live=False)
        return Verdict(live=True, throttle_wait=float(answer[1]) if len(answer) > 1 else None)

    def consume(self, token) -> bool:
        args = [str(token["user_id"])]
        return bool(self._consume(keys=self._keys(token), args=args, client=self.client))

    def rotate(self, token) -> str:
        args = [str(token["user_id"]), _family_ttl()]
        answer = self._rotate(keys=self._keys(token), args=args, client=self.client)
        return answer.decode()

    def epoch_move(self, user_id) -> None:
        self.client.incr(self._key(_EPOCH_KEY.format(user_id)))


@memoized
def _redis_store(url: str) -> RedisTokenStore:
    return RedisTokenStore(url)


def token_store() -> RedisTokenStore | CacheTokenStore:
    """The store in use: Redis when REDIS_URL is set, else Django's cache."""
    url = settings.REDIS_URL
    return _redis_store(url) if url else _CACHE_STORE


_store = token_store


_CACHE_STORE = CacheTokenStore()
