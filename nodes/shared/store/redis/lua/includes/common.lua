-- Included first by every script (see scripts.ts, `--@include`). Names the namespace keys that
-- every script receives as KEYS[1..10], decodes arguments and reads the clock.
--
-- KEYS[1]  zset, score 0: every record's key, for listing in key order
-- KEYS[2..5] zsets, score updatedAt: records by state (received, processing, processed, failed)
-- KEYS[6]  zset, score leaseUntil: processing records, for stuck claims
-- KEYS[7]  zset, score expiresAt: settled records that will be forgotten, for purge
-- KEYS[8]  hash '<hourStartMs>:<counter>' -> count, for stats
-- KEYS[9]  zset, score and member hourStartMs: the hours that have counters
-- KEYS[10] zset, score firstSeenAt: the uuids of the namespace's open exceptions
-- KEYS[11..] the per-key keys of the script (record hash and history list, in pairs, for most)

local KEYS_INDEX = KEYS[1]
local STATE_INDEX = { received = KEYS[2], processing = KEYS[3], processed = KEYS[4], failed = KEYS[5] }
local LEASE_INDEX = KEYS[6]
local EXPIRY_INDEX = KEYS[7]
local STATS = KEYS[8]
local STATS_HOURS = KEYS[9]
local OPEN_EXCEPTIONS = KEYS[10]
local FIRST_ITEM_KEY = 11

local HOUR_MS = 3600000

-- Epoch ms written as an integer string: Lua's own number formatting would switch to exponents.
local function int(n)
	return string.format('%.0f', n)
end

-- Nullable text arrives as 'n' (null) or 's' followed by the text, so '' and null stay distinct.
local function nullable(arg)
	if arg == 'n' then
		return nil
	end
	return string.sub(arg, 2)
end

-- The longest lease or retention a script accepts (1000 years): now + it stays an exact integer
-- (below 2^53) and a PEXPIRE of it cannot overflow. RedisStore.ts refuses longer ones first.
local MAX_DURATION_MS = 31557600000000

-- A duration argument, checked before anything is written: a script either applies completely or
-- not at all (a retention of 2e11 days would otherwise fail in PEXPIRE after the record changed).
local function duration(arg, name)
	local ms = tonumber(arg)
	if ms == nil or ms ~= ms or ms < 0 or ms > MAX_DURATION_MS or ms ~= math.floor(ms) then
		error({ err = 'ERR idempotency ' .. name .. ' must be a whole number of ms from 0 to ' .. int(MAX_DURATION_MS) })
	end
	return ms
end

-- A count argument (attempts, repeats, occurrences), checked like a duration.
local function count(arg, name)
	local n = tonumber(arg)
	if n == nil or n ~= n or n < 0 or n > 1e12 or n ~= math.floor(n) then
		error({ err = 'ERR idempotency ' .. name .. ' must be a whole number' })
	end
	return n
end

-- The caller's clock when given (tests), else the server's, so that skewed workers agree on leases.
local function clock(arg)
	if arg ~= nil and arg ~= '' then
		local now = tonumber(arg)
		if now == nil or now ~= now or math.abs(now) > 1e15 then
			error({ err = 'ERR idempotency now must be epoch ms' })
		end
		return now
	end
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Refuses to run when a key holds something else than expected, before anything is written:
-- a script either applies completely or not at all.
local function expectType(key, expected)
	local found = redis.call('TYPE', key).ok
	if found ~= 'none' and found ~= expected then
		error({ err = 'WRONGTYPE idempotency key ' .. key .. ' holds a ' .. found .. ', expected a ' .. expected })
	end
end

local function expectNamespaceKeys()
	expectType(KEYS_INDEX, 'zset')
	for _, index in pairs(STATE_INDEX) do
		expectType(index, 'zset')
	end
	expectType(LEASE_INDEX, 'zset')
	expectType(EXPIRY_INDEX, 'zset')
	expectType(STATS, 'hash')
	expectType(STATS_HOURS, 'zset')
	expectType(OPEN_EXCEPTIONS, 'zset')
end
