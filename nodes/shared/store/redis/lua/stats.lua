--[[
Stats: sums a namespace's hourly counters over a range of hours, and counts its open exceptions.
Reads only.

KEYS[1..10] the namespace's indexes and stats (see includes/common.lua)

ARGV[1]  first hour (epoch ms of the hour's start)
ARGV[2]  last hour, inclusive

Returns counter/total pairs, flat: { 'new', 12, 'ambiguous:in_progress', 3, ..., 'openExceptions', 2 };
counters that stayed zero are left out. The counter names are those of includes/counters.lua;
the last pair is always the number of open exceptions now.
]]

--@include "common.lua"
--@include "counters.lua"

local hours = redis.call('ZRANGEBYSCORE', STATS_HOURS, ARGV[1], ARGV[2])
local totals = {}
for _, hour in ipairs(hours) do
	local values = redis.call('HMGET', STATS, unpack(hourFields(hour)))
	for i, counter in ipairs(COUNTERS) do
		if values[i] then
			totals[counter] = (totals[counter] or 0) + tonumber(values[i])
		end
	end
end
local reply = {}
for _, counter in ipairs(COUNTERS) do
	if totals[counter] then
		reply[#reply + 1] = counter
		reply[#reply + 1] = totals[counter]
	end
end
reply[#reply + 1] = 'openExceptions'
reply[#reply + 1] = redis.call('ZCARD', OPEN_EXCEPTIONS)
return reply
