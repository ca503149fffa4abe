--[[
Bench only: preloads settled ('processed') records of one namespace in the Redis adapter's real
layout (nodes/shared/store/redis/keys.ts): per key the record hash with the fields claim.lua and
transition.lua leave behind, its two history events (claimed, processed) and its entries in the
key, state and expiry indexes, with the same TTLs. Key i is the first 32 hex digits of
sha1('<seed>:<i>'), as random as the bench's fresh keys. Writes nothing else (no stats counters).
Runs on a standalone Redis only (it names the per-key keys itself).

KEYS[1]  zset: every record's key            KEYS[2]  zset: records in state processed
KEYS[3]  zset: settled records by expiresAt
ARGV[1]  prefix of the namespace's keys, `<prefix>{<ns>}:`   ARGV[2] seed
ARGV[3]  first ordinal   ARGV[4] how many   ARGV[5] now (epoch ms)   ARGV[6] retention ms
ARGV[7]  grace ms (TTL = retention + grace, as record.lua expireAfter)

Returns the number of records written.
]]

local base, seed = ARGV[1], ARGV[2]
local first, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local now, retention, grace = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local function int(n)
	return string.format('%.0f', n)
end
local ttl = int(retention + grace)
local byKey, byUpdated, byExpiry = {}, {}, {}
local function flush()
	if #byKey > 0 then
		redis.call('ZADD', KEYS[1], unpack(byKey))
		redis.call('ZADD', KEYS[2], unpack(byUpdated))
		redis.call('ZADD', KEYS[3], unpack(byExpiry))
		byKey, byUpdated, byExpiry = {}, {}, {}
	end
end
for i = first, first + count - 1 do
	local h = redis.sha1hex(seed .. ':' .. i)
	local key = string.sub(h, 1, 32)
	local token = string.sub(h, 1, 8) .. '-' .. string.sub(h, 9, 12) .. '-4' .. string.sub(h, 14, 16) .. '-a'
		.. string.sub(h, 18, 20) .. '-' .. string.sub(h, 21, 32)
	local at = int(now - (first + count - i)) -- older keys first, one ms apart
	local settled = int(now - (first + count - i) + 5)
	local expires = int(now - (first + count - i) + 5 + retention)
	local execution = tostring(100000 + math.floor(i / 1000))
	local rk, hk = base .. 'r:' .. key, base .. 'h:' .. key
	-- record.lua's one-letter fields (state 'p' = processed; a duplicateCount of 0 is not stored).
	redis.call('HSET', rk, 's', 'p', 'a', '1', 't', token,
		'f', at, 'l', at, 'u', settled, 'n', int(retention),
		'w', 'bench-workflow', 'i', execution,
		'r', '{"id":"' .. string.sub(h, 33, 40) .. '"}', 'x', expires)
	-- The packed entries record.lua's recordEvent writes (same fields and lengths).
	local actor = '14:bench-workflow' .. #execution .. ':' .. execution
	redis.call('RPUSH', hk,
		at .. ',c|=a' .. actor .. '17:Idempotency Guard',
		settled .. ',p|~' .. actor .. '14:Mark processed')
	redis.call('PEXPIRE', rk, ttl)
	redis.call('PEXPIRE', hk, ttl)
	local n = #byKey
	byKey[n + 1], byKey[n + 2] = 0, key
	byUpdated[n + 1], byUpdated[n + 2] = settled, key
	byExpiry[n + 1], byExpiry[n + 2] = expires, key
	if n + 2 >= 2000 then
		flush()
	end
end
flush()
return count
