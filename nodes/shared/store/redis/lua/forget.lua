--[[
Forget: drops index entries whose record hash no longer exists (Redis expired it after its
retention). Called by list for the entries it had to skip; a key that exists again is left alone.

KEYS[1..10]   the namespace's indexes and stats (see includes/common.lua)
KEYS[10 + i]  record hash of entry i

ARGV[i]       key of entry i

Returns the number of keys dropped from the indexes.
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"

local dropped = 0
for i = 1, #ARGV do
	if redis.call('EXISTS', KEYS[FIRST_ITEM_KEY + i - 1]) == 0 then
		unindex(ARGV[i])
		dropped = dropped + 1
	end
end
return dropped
