--[[
Unrecord exceptions: takes back what one record_exceptions.lua call did in this slot, when the
same chunk failed in another bucket of the namespace (buckets.ts: a chunk is all or nothing), so
that a retry of the item does not count the occurrences twice. Per request of that call:
- the exception is still as the call left it: an exception the call opened is removed (with its
  name in the key's open exceptions, its key, its place in both indexes and in the report's count
  of opened exceptions); one it counted on
  gets back its JSON from before and its place in the feed;
- it changed since (counted again, resolved): only the call's occurrences are taken off, when
  that leaves at least one.

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 3(i-1)] every exception of request i's key (hash uuid -> JSON)
KEYS[12 + 3(i-1)] the open exceptions of that key (hash reason -> uuid)
KEYS[13 + 3(i-1)] the key of request i's exception (string, xid:<uuid>)
KEYS[#KEYS]       the namespace's exceptions by lastSeenAt (zset, the trigger's feed)

ARGV[1 + 5(i-1)] .. ARGV[5 + 5(i-1)], request i:
  the exception's uuid, its field in the open exceptions ('' for an incident), its JSON as the
  call left it, its JSON before the call ('' = the call opened it), the occurrences it added

Returns how many requests were taken back.
]]

--@include "common.lua"
--@include "exceptions.lua"

local ARGS_PER_REQUEST = 5
local SEEN_EXCEPTIONS, requests = exceptionRequests()
for i = 1, requests do
	expectRequestKeys(i)
	local before = ARGV[ARGS_PER_REQUEST * (i - 1) + 4]
	if before ~= '' then
		cjson.decode(before)
	end
	count(ARGV[ARGS_PER_REQUEST * (i - 1) + 5], 'occurrences')
end

local undone = 0
for i = 1, requests do
	local xk, xok, idk = requestKeys(i)
	local arg = ARGS_PER_REQUEST * (i - 1)
	local uuid, field, after, before = ARGV[arg + 1], ARGV[arg + 2], ARGV[arg + 3], ARGV[arg + 4]
	local occurrences = tonumber(ARGV[arg + 5])
	local current = redis.call('HGET', xk, uuid)
	if current == after then
		if before == '' then
			redis.call('HDEL', xk, uuid)
			if redis.call('HGET', xok, field) == uuid then
				redis.call('HDEL', xok, field)
			end
			redis.call('DEL', idk)
			redis.call('ZREM', OPEN_EXCEPTIONS, uuid)
			redis.call('ZREM', SEEN_EXCEPTIONS, uuid)
			-- The report's count of opened exceptions takes it back too.
			local openedAt = tonumber(cjson.decode(after).firstSeenAt)
			redis.call('HINCRBY', STATS, int(openedAt - (openedAt % HOUR_MS)) .. ':opened', -1)
		else
			redis.call('HSET', xk, uuid, before)
			redis.call('ZADD', SEEN_EXCEPTIONS, cjson.decode(before).lastSeenAt, uuid)
		end
		undone = undone + 1
	elseif current then
		local exception = cjson.decode(current)
		if exception.occurrences > occurrences then
			exception.occurrences = exception.occurrences - occurrences
			saveException(xk, exception)
			undone = undone + 1
		end
	end
end
return undone
