"""Velocity aggregates: count and sum per partner (and per counterparty) over the current
minute, the last 60 minutes and the last 24 hours, kept in the cache as buckets.

Windows: `1m` is the current UTC minute's bucket, `1h` the last 60 minute buckets (this one
included), `24h` the last 24 hour buckets (this one included). Counts are per scope, sums
per scope and asset (sums of different assets mean nothing). A decision's own subject is
counted before the read, so `vel_partner_count_1m > 20` hits the 21st order of a minute.

On Redis one Lua script records the subject, reads every window and the config token in
ONE round trip; elsewhere (the embedded default) it is a few calls on Django's cache. The
buckets can be rebuilt from stored decisions (`manage.py risk_velocity_rebuild`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache as memoized

from django.conf import settings
from django.core.cache import cache

from risk.facts import WINDOWS

CONFIG_KEY = "risk:config"
_MINUTE_TTL = 3660
_HOUR_TTL = 90_000
_DAY_TTL = 2 * 86_400


@dataclass(frozen=True)
class Tally:
    """What one decision adds: one more subject of `amount` (of `asset`) for its scopes."""

    subject: str
    partner: str  # the partner's id
    asset: str
    amount: int
    counterparty: str | None = None
    credit: int = 0  # added to the partner's daily credit use (a buy's notional)


@dataclass
class Reading:
    token: str | None  # the config token in the cache (None: not set)
    facts: dict = field(default_factory=dict)  # vel_* facts
    credit_today: int = 0


def scope_key(subject: str, scope: str, ident: str) -> str:
    return f"risk:v:{subject}:{scope}:{ident}"


def credit_key(partner: str, day: str, asset: str) -> str:
    return f"risk:credit:{partner}:{day}:{asset}"


def _scopes(tally: Tally) -> list[tuple[str, str]]:
    scopes = [("partner", scope_key(tally.subject, "p", tally.partner))]
    if tally.counterparty:
        scopes.append(("counterparty", scope_key(tally.subject, "c", tally.counterparty)))
    return scopes


def _facts(scope: str, counts: list[int], sums: list[int]) -> dict:
    facts = {}
    for window, n, s in zip(WINDOWS, counts, sums, strict=True):
        facts[f"vel_{scope}_count_{window}"] = n
        facts[f"vel_{scope}_sum_{window}"] = s
    return facts


# KEYS: config token, credit key (or ''), then one base key per scope
# ARGV: minute, hour, asset, amount, credit
_RECORD = """
local minute, hour = tonumber(ARGV[1]), tonumber(ARGV[2])
local field = 's:' .. ARGV[3]
local out = {redis.call('GET', KEYS[1]) or false}
local credit = 0
if KEYS[2] ~= '' then
  credit = redis.call('INCRBY', KEYS[2], ARGV[5])
  redis.call('EXPIRE', KEYS[2], 172800)
end
table.insert(out, credit)
for k = 3, #KEYS do
  local base = KEYS[k]
  local m = base .. ':m:' .. minute
  local h = base .. ':h:' .. hour
  redis.call('HINCRBY', m, 'n', 1)
  redis.call('HINCRBY', m, field, ARGV[4])
  redis.call('EXPIRE', m, 3660)
  redis.call('HINCRBY', h, 'n', 1)
  redis.call('HINCRBY', h, field, ARGV[4])
  redis.call('EXPIRE', h, 90000)
  local cur = redis.call('HMGET', m, 'n', field)
  local n1h, s1h, n24, s24 = 0, 0, 0, 0
  for i = 0, 59 do
    local v = redis.call('HMGET', base .. ':m:' .. (minute - i), 'n', field)
    n1h = n1h + (tonumber(v[1]) or 0)
    s1h = s1h + (tonumber(v[2]) or 0)
  end
  for i = 0, 23 do
    local v = redis.call('HMGET', base .. ':h:' .. (hour - i), 'n', field)
    n24 = n24 + (tonumber(v[1]) or 0)
    s24 = s24 + (tonumber(v[2]) or 0)
  end
  for _, x in ipairs({tonumber(cur[1]), tonumber(cur[2]), n1h, s1h, n24, s24}) do
    table.insert(out, x)
  end
end
return out
"""


class RedisVelocity:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._record = self.client.register_script(_RECORD)
        self._key = cache.make_key

    def record(self, tally: Tally, *, now) -> Reading:
        minute, hour = _minute(now), _minute(now) // 60
        scopes = _scopes(tally)
        credit = credit_key(tally.partner, now.strftime("%Y%m%d"), tally.asset)
        keys = [self._key(CONFIG_KEY), self._key(credit) if tally.credit else ""]
        keys += [self._key(base) for _, base in scopes]
        args = [minute, hour, tally.asset, tally.amount, tally.credit]
        answer = self._record(keys=keys, args=args)
        token = answer[0].decode() if answer[0] else None
        reading = Reading(token=token, credit_today=int(answer[1]))
        for i, (scope, _) in enumerate(scopes):
            n1, s1, n60, s60, n24, s24 = (int(x) for x in answer[2 + 6 * i : 8 + 6 * i])
            reading.facts.update(_facts(scope, [n1, n60, n24], [s1, s60, s24]))
        return reading

    # The config token, as a plain string (Django's cache would pickle it; the script reads it).
    def token_set(self, token: str) -> None:
        self.client.set(self._key(CONFIG_KEY), token)

    def token_add(self, token: str) -> None:
        self.client.set(self._key(CONFIG_KEY), token, nx=True)

    def token_forget(self) -> None:
        self.client.delete(self._key(CONFIG_KEY))

    def write(self, buckets: dict[str, dict[str, int]]) -> None:
        """Replace every velocity bucket and credit counter with `buckets`."""
        doomed = [
            key
            for prefix in ("risk:v:", "risk:credit:")
            for key in self.client.scan_iter(match=self._key(prefix) + "*", count=1000)
        ]
        pipe = self.client.pipeline(transaction=True)
        if doomed:
            pipe.delete(*doomed)
        for key, fields in buckets.items():
            full = self._key(key)
            if ":credit:" in key:
                pipe.set(full, fields["total"], ex=_DAY_TTL)
                continue
            pipe.hset(full, mapping=fields)
            pipe.expire(full, _MINUTE_TTL if ":m:" in key else _HOUR_TTL)
        pipe.execute()


class CacheVelocity:
    """Through Django's cache: not atomic across processes (the embedded default is one)."""

    def record(self, tally: Tally, *, now) -> Reading:
        minute, hour = _minute(now), _minute(now) // 60
        field = f"s:{tally.asset}"
        reading = Reading(token=cache.get(CONFIG_KEY))
        if tally.credit:
            key = credit_key(tally.partner, now.strftime("%Y%m%d"), tally.asset)
            reading.credit_today = cache.get(key, 0) + tally.credit
            cache.set(key, reading.credit_today, _DAY_TTL)
        for scope, base in _scopes(tally):
            minutes = [f"{base}:m:{minute - i}" for i in range(60)]
            hours = [f"{base}:h:{hour - i}" for i in range(24)]
            found = cache.get_many(minutes + hours)
            for key, ttl in ((minutes[0], _MINUTE_TTL), (hours[0], _HOUR_TTL)):
                bucket = dict(found.get(key) or {})
                bucket["n"] = bucket.get("n", 0) + 1
                bucket[field] = bucket.get(field, 0) + tally.amount
                found[key] = bucket
                cache.set(key, bucket, ttl)

            def total(keys, name, found=found):
                return sum((found.get(k) or {}).get(name, 0) for k in keys)

            counts = [total(minutes[:1], "n"), total(minutes, "n"), total(hours, "n")]
            sums = [total(minutes[:1], field), total(minutes, field), total(hours, field)]
            reading.facts.update(_facts(scope, counts, sums))
        return reading

    def token_set(self, token: str) -> None:
        cache.set(CONFIG_KEY, token, None)

    def token_add(self, token: str) -> None:
        cache.add(CONFIG_KEY, token, None)

    def token_forget(self) -> None:
        cache.delete(CONFIG_KEY)

    def write(self, buckets: dict[str, dict[str, int]]) -> None:
        # Local memory cannot be scanned: the rebuild overwrites the buckets it computes.
        for key, fields in buckets.items():
            if ":credit:" in key:
                cache.set(key, fields["total"], _DAY_TTL)
            else:
                cache.set(key, fields, _MINUTE_TTL if ":m:" in key else _HOUR_TTL)


def _minute(now) -> int:
    return int(now.timestamp()) // 60


@memoized
def _redis_velocity(url: str) -> RedisVelocity:
    return RedisVelocity(url)


def velocity_store() -> RedisVelocity | CacheVelocity:
    url = getattr(settings, "REDIS_URL", "")
    return _redis_velocity(url) if url else CacheVelocity()


def velocity_buckets(tallies) -> dict[str, dict[str, int]]:
    """Buckets as record() would have left them for `tallies` ((Tally, when) pairs)."""
    buckets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for tally, when in tallies:
        minute = _minute(when)
        for _, base in _scopes(tally):
            for key in (f"{base}:m:{minute}", f"{base}:h:{minute // 60}"):
                buckets[key]["n"] += 1
                buckets[key][f"s:{tally.asset}"] += tally.amount
        if tally.credit:
            day = when.strftime("%Y%m%d")
            buckets[credit_key(tally.partner, day, tally.asset)]["total"] += tally.credit
    return {key: dict(fields) for key, fields in buckets.items()}
