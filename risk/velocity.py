"""Velocity aggregates: count and sum per partner (and per counterparty) over the current
minute, the last 60 minutes and the last 24 hours, kept in the cache as buckets.

Windows: `1m` is the current UTC minute's bucket, `1h` the last 60 minute buckets (this one
included), `24h` the last 24 hour buckets (this one included), in epoch minutes and hours.
Counts are per scope, sums per scope and asset (sums of different assets mean nothing). A
decision's own subject is counted before the read, so `vel_partner_count_1m > 20` hits the
21st order of a minute.

On Redis one Lua script records the subject, reads every window and the config token in
ONE round trip; elsewhere (the embedded default) it is a few calls on Django's cache. The
buckets can be rebuilt from stored decisions (`manage.py risk_velocity_rebuild`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache as memoized

from django.conf import settings
from django.core.cache import cache

from core.redis_connections import redis_client
from risk.facts import WINDOWS

CONFIG_KEY = "risk:config"
_CREDIT_TTL = 2 * 86_400
_HOUR_TTL, _DAY_TTL = 7300, 180_000  # an hour's minutes, a day's hours (plus some)


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


# Per scope two hashes: `<base>:h:<hour>` holds the hour's minutes (fields n:<minute>,
# s:<asset>:<minute>), `<base>:d:<day>` the day's hours (n:<hour>, s:<asset>:<hour>).
# The 1 h and 24 h windows are running totals in `<base>:w` (n60, s60:<asset>, n24,
# s24:<asset>), each kept with the window's edge it was summed for (c60, c60:<asset>, ...):
# within a minute (an hour for 24 h) a decision only adds its own amount to the total; the
# first decision after the window moved sums it from the buckets again. So a busy scope
# reads its 60 + 24 buckets once a minute rather than on every decision (190 us of Redis
# CPU a decision), and a total can never drift from its buckets for longer than that (a
# process still running an older script during a deploy adds to the buckets only).
# KEYS: config token, credit key (or ''), then one base key per scope
# ARGV: minute, asset, amount, credit
_RECORD = """
local minute = tonumber(ARGV[1])
local hour, asset, amount = math.floor(minute / 60), ARGV[2], tonumber(ARGV[3])
local day = math.floor(hour / 24)
local out = {redis.call('GET', KEYS[1]) or false}
local credit = 0
if KEYS[2] ~= '' then
  credit = redis.call('INCRBY', KEYS[2], ARGV[4])
  redis.call('EXPIRE', KEYS[2], 172800)
end
table.insert(out, credit)
local function buckets(base, unit, first, last, per, prefix)
  -- the sum of field prefix..b for buckets first..last, from the hashes holding `per` each
  local total, from = 0, first
  while from <= last do
    local owner = math.floor(from / per)
    local to = math.min(last, owner * per + per - 1)
    local fields = {}
    for b = from, to do table.insert(fields, prefix .. b) end
    for _, v in ipairs(redis.call('HMGET', base .. unit .. owner, unpack(fields))) do
      total = total + (tonumber(v) or 0)
    end
    from = to + 1
  end
  return total
end
local function running(base, state, field, unit, now, length, per, prefix, added)
  -- the window (now - length, now]'s total of prefix..b, this decision's `added` included:
  -- summed from the buckets again when the window has moved on since it was kept
  local kept = redis.call('HMGET', state, field, 'c' .. field)
  local total, kept_edge, edge = tonumber(kept[1]), tonumber(kept[2]), now - length
  if total ~= nil and kept_edge == edge then
    total = total + added
  elseif total ~= nil and edge < kept_edge then
    -- a clock behind another process's: its bucket counts in the kept total if inside it
    if now > kept_edge then redis.call('HINCRBY', state, field, added) end
    return buckets(base, unit, edge + 1, now, per, prefix)
  else
    total = buckets(base, unit, edge + 1, now, per, prefix)
  end
  redis.call('HSET', state, field, total, 'c' .. field, edge)
  return total
end
for k = 3, #KEYS do
  local base = KEYS[k]
  local h, d, state = base .. ':h:' .. hour, base .. ':d:' .. day, base .. ':w'
  local n1 = redis.call('HINCRBY', h, 'n:' .. minute, 1)
  local s1 = redis.call('HINCRBY', h, 's:' .. asset .. ':' .. minute, amount)
  redis.call('EXPIRE', h, 7300)
  redis.call('HINCRBY', d, 'n:' .. hour, 1)
  redis.call('HINCRBY', d, 's:' .. asset .. ':' .. hour, amount)
  redis.call('EXPIRE', d, 180000)
  local sa = 's:' .. asset .. ':'
  local n60 = running(base, state, 'n60', ':h:', minute, 60, 60, 'n:', 1)
  local s60 = running(base, state, 's60:' .. asset, ':h:', minute, 60, 60, sa, amount)
  local n24 = running(base, state, 'n24', ':d:', hour, 24, 24, 'n:', 1)
  local s24 = running(base, state, 's24:' .. asset, ':d:', hour, 24, 24, sa, amount)
  redis.call('EXPIRE', state, 7300)
  for _, x in ipairs({n1, s1, n60, s60, n24, s24}) do table.insert(out, x) end
end
return out
"""


class RedisVelocity:
    def __init__(self, url: str):
        self._url = url
        self._record = self.client.register_script(_RECORD)
        self._key = cache.make_key

    @property
    def client(self):
        return redis_client(self._url)  # this thread's connection (core.redis_connections)

    def record(self, tally: Tally, *, now) -> Reading:
        scopes = _scopes(tally)
        credit = credit_key(tally.partner, now.strftime("%Y%m%d"), tally.asset)
        keys = [self._key(CONFIG_KEY), self._key(credit) if tally.credit else ""]
        keys += [self._key(base) for _, base in scopes]
        args = [_minute(now), tally.asset, tally.amount, tally.credit]
        answer = self._record(keys=keys, args=args, client=self.client)
        token = None if answer[0] is None else answer[0].decode()  # "" is a token (no rules yet)
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
                pipe.set(full, fields["total"], ex=_CREDIT_TTL)
                continue
            pipe.hset(full, mapping=fields)
            pipe.expire(full, _HOUR_TTL if ":h:" in key else _DAY_TTL)
        pipe.execute()


class CacheVelocity:
    """Through Django's cache: not atomic across processes (the embedded default is one)."""

    def record(self, tally: Tally, *, now) -> Reading:
        minute = _minute(now)
        hour = minute // 60
        reading = Reading(token=cache.get(CONFIG_KEY))
        if tally.credit:
            key = credit_key(tally.partner, now.strftime("%Y%m%d"), tally.asset)
            reading.credit_today = cache.get(key, 0) + tally.credit
            cache.set(key, reading.credit_today, _CREDIT_TTL)
        n, s = "n:{}", f"s:{tally.asset}:" + "{}"
        for scope, base in _scopes(tally):
            hashes = {f"{base}:h:{h}": {} for h in (hour - 1, hour)} | {
                f"{base}:d:{d}": {} for d in (hour // 24 - 1, hour // 24)
            }
            hashes.update({k: dict(v) for k, v in cache.get_many(list(hashes)).items()})
            for key, bucket, ttl in (
                (f"{base}:h:{hour}", minute, _HOUR_TTL),
                (f"{base}:d:{hour // 24}", hour, _DAY_TTL),
            ):
                fields = hashes[key]
                fields[n.format(bucket)] = fields.get(n.format(bucket), 0) + 1
                fields[s.format(bucket)] = fields.get(s.format(bucket), 0) + tally.amount
                cache.set(key, fields, ttl)

            def total(pattern, unit, buckets, per, hashes=hashes, base=base):
                return sum(
                    hashes.get(f"{base}:{unit}:{b // per}", {}).get(pattern.format(b), 0)
                    for b in buckets
                )

            minutes, hours = range(minute - 59, minute + 1), range(hour - 23, hour + 1)
            counts = [
                total(n, "h", [minute], 60),
                total(n, "h", minutes, 60),
                total(n, "d", hours, 24),
            ]
            sums = [
                total(s, "h", [minute], 60),
                total(s, "h", minutes, 60),
                total(s, "d", hours, 24),
            ]
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
                cache.set(key, fields["total"], _CREDIT_TTL)
            else:
                cache.set(key, fields, _HOUR_TTL if ":h:" in key else _DAY_TTL)


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
        hour = minute // 60
        for _, base in _scopes(tally):
            for key, bucket in ((f"{base}:h:{hour}", minute), (f"{base}:d:{hour // 24}", hour)):
                buckets[key][f"n:{bucket}"] += 1
                buckets[key][f"s:{tally.asset}:{bucket}"] += tally.amount
        if tally.credit:
            day = when.strftime("%Y%m%d")
            buckets[credit_key(tally.partner, day, tally.asset)]["total"] += tally.credit
    return {key: dict(fields) for key, fields in buckets.items()}
