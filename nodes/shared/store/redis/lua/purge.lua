--[[
Purge: forgets records past retention (expiresAt <= now) with their whole history, for a batch
of candidates the caller read from the expiry index. Each candidate is checked again here, so a
key claimed again since that read is kept. A record Redis already freed by TTL leaves the indexes
and counts as purged: purge reports every record it forgot.

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 2(i-1)] record hash of candidate i
KEYS[12 + 2(i-1)] history list of candidate i

ARGV[1]     now, epoch ms
ARGV[1 + i] key of candidate i

Returns { records deleted, history entries deleted }
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"

local now = tonumber(ARGV[1])
local candidates = (#KEYS - FIRST_ITEM_KEY + 1) / 2

expectNamespaceKeys()
for i = 1, candidates do
	expectItemKeys(itemKeys(i))
end

local records = 0
local history = 0
for i = 1, candidates do
	local rk, hk = itemKeys(i)
	local key = ARGV[1 + i]
	local record = loadRecord(rk)
	if record == nil then
		-- Redis freed it by TTL already: it is forgotten now, from the indexes too, and counted.
		history = history + redis.call('LLEN', hk)
		records = records + 1
		redis.call('DEL', hk)
		unindex(key)
	elseif isExpired(record, now) then
		history = history + redis.call('LLEN', hk)
		records = records + 1
		redis.call('DEL', rk, hk)
		unindex(key)
	elseif record.expiresAt then
		redis.call('ZADD', EXPIRY_INDEX, record.expiresAt, key)
	else
		redis.call('ZREM', EXPIRY_INDEX, key)
	end
end
return { records, history }
