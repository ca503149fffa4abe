--[[
Not replicated: claims the replicas did not confirm in time went to the Guard as Ambiguous
`not_replicated`, but claim.lua counted each as `new` in its hour. This moves those counts:
`new` down, `ambiguous:not_replicated` up, in the hour of the claim script's `now`. RedisStore
calls it right after the WAIT fell short, on the slot (bucket) the claim ran in.

Only a key whose record is still `processing` with the claim's token is moved: that record is
the claim's own write, so the claim's count is on this server too (a script's writes replicate
together). A server that never got the claim — a failover in between — moves nothing. A re-sent
call is answered from the first run's reply (includes/request.lua): it moves nothing again.

This write itself is not waited for: a failover after it can keep the claim's `new` and lose
the move. Stats across a failover are approximate.

KEYS[1..10]        the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + (i-1)]   record hash of claim i

ARGV[1]            the claim script's now, epoch ms
ARGV[2 + (i-1)]    the claim token of claim i

Returns how many counts were moved.
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"

local now = clock(ARGV[1])
local claims = #KEYS - FIRST_ITEM_KEY + 1

-- Everything that can fail (a key of another type) is read before the first write.
expectNamespaceKeys()
local moved = 0
for i = 1, claims do
	local record = readFields(KEYS[FIRST_ITEM_KEY + i - 1], { 'state', 'claimToken' })
	if record and record.state == 'processing' and record.claimToken == ARGV[1 + i] then
		moved = moved + 1
	end
end

if moved > 0 then
	local hour = int(now - (now % HOUR_MS))
	redis.call('HINCRBY', STATS, hour .. ':new', -moved)
	redis.call('HINCRBY', STATS, hour .. ':ambiguous:not_replicated', moved)
	if redis.call('ZADD', STATS_HOURS, 'NX', hour, hour) == 1 then
		pruneStats(tonumber(hour) - STATS_KEEP_MS)
	end
end
return moved
