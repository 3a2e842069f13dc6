/**
 * Lua for the Redis store: one script per limit kind, each touching exactly one key (Cluster-safe)
 * and reading the server's clock (TIME), so every gateway replica shares one notion of "now".
 * The arithmetic mirrors gcra.ts and quota.ts; the contract suite runs both stores.
 */
import { EPSILON_MS } from './gcra.js';

/** Milliseconds of slack past a quota window's end before its key expires (the key is stale anyway). */
const QUOTA_GRACE_MS = 1000;

// Redis < 5 needs this before writing after TIME; later versions always replicate effects.
const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local EPS = ${EPSILON_MS}
local function ceil_ms(ms) if ms <= EPS then return 0 end return math.ceil(ms - EPS) end
`;

/**
 * GCRA. KEYS[1] holds the TAT in ms (µs precision: Lua's tostring keeps only 14 digits, so the
 * value is formatted explicitly) and expires at the TAT, when it would mean "full bucket" anyway.
 * ARGV: emission interval ms, burst, and optionally the most tokens to take (a lease, default 1):
 * as many as the bucket holds now, up to that many, are taken at once.
 * Reply: {allowed, remaining, resetMs, retryAfterMs, granted}.
 */
export const RATE_LUA = `${PRELUDE}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3] or '1')
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local capacity = burst * interval
local free = math.floor((capacity + EPS - (tat - now)) / interval)
if free >= 1 then
  local granted = math.min(want, free)
  local next_tat = tat + granted * interval
  local ahead = next_tat - now
  redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.max(1, math.ceil(ahead)))
  return {1, math.max(0, math.floor((capacity - ahead) / interval + EPS)), ceil_ms(ahead), 0, granted}
end
local ahead = tat + interval - now
return {0, 0, ceil_ms(ahead - interval), ceil_ms(ahead - capacity), 0}
`;

/**
 * Calendar month [start, end) in UTC containing `now` (ms). Lua in Redis has no os.date, so this is
 * Howard Hinnant's civil_from_days / days_from_civil in plain arithmetic.
 */
export const MONTH_LUA = `
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local function month_bounds(now)
  local z = math.floor(now / 86400000) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * 86400000, days_from_civil(ny, nm, 1) * 86400000
end
`;

/**
 * Quota. KEYS[1] is a hash {s: window start, c: count}; one key per caller, so a new window just
 * overwrites it. Only allowed requests count. ARGV: limit, window ms (0 = calendar month).
 * Reply: {allowed, remaining, resetMs, retryAfterMs}.
 */
export const QUOTA_LUA = `${PRELUDE}${MONTH_LUA}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local start, stop
if window_ms > 0 then
  start = math.floor(now / window_ms) * window_ms
  stop = start + window_ms
else
  start, stop = month_bounds(now)
end
local state = redis.call('HMGET', KEYS[1], 's', 'c')
local used = 0
if tonumber(state[1]) == start then used = tonumber(state[2]) or 0 end
local reset = stop - now
if used + 1 > limit then return {0, 0, reset, reset} end
if used == 0 then
  redis.call('HSET', KEYS[1], 's', string.format('%.0f', start), 'c', 1)
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', stop + ${QUOTA_GRACE_MS}))
else
  redis.call('HINCRBY', KEYS[1], 'c', 1)
end
return {1, limit - used - 1, reset, 0}
`;
