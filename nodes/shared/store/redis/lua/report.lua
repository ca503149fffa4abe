--[[
Report: a namespace's (or one bucket's) hourly counters over a range of hours, hour by hour,
with the exceptions resolved in those hours and its open exceptions now. Reads only; store/
report.ts builds the buckets from what this returns.

KEYS[1..10] the namespace's indexes and stats (see includes/common.lua)

ARGV[1]  first hour (epoch ms of the hour's start)
ARGV[2]  last hour, inclusive

Returns { { hour, counter, count, ... } flat: every counter of includes/counters.lua (stats' and
          the report's) that is not zero in an hour, by hour,
          { hour, '<resolvedVia>:<ms open>,...', ... } flat: each hour's resolved exceptions,
          the number of open exceptions now,
          { uuid, firstSeenAt } of the exception open longest, or {} when none is }
]]

--@include "common.lua"
--@include "counters.lua"

local hours = redis.call('ZRANGEBYSCORE', STATS_HOURS, ARGV[1], ARGV[2])
local names = {}
for _, counter in ipairs(COUNTERS) do
	names[#names + 1] = counter
end
for _, counter in ipairs(REPORT_COUNTERS) do
	names[#names + 1] = counter
end
local counts, resolved = {}, {}
for _, hour in ipairs(hours) do
	local fields = {}
	for i, counter in ipairs(names) do
		fields[i] = hour .. ':' .. counter
	end
	fields[#fields + 1] = hour .. ':' .. RESOLVED
	local values = redis.call('HMGET', STATS, unpack(fields))
	for i, counter in ipairs(names) do
		if values[i] and tonumber(values[i]) ~= 0 then
			counts[#counts + 1] = hour
			counts[#counts + 1] = counter
			counts[#counts + 1] = tonumber(values[i])
		end
	end
	if values[#fields] then
		resolved[#resolved + 1] = hour
		resolved[#resolved + 1] = values[#fields]
	end
end
local oldest = redis.call('ZRANGE', OPEN_EXCEPTIONS, 0, 0, 'WITHSCORES')
return { counts, resolved, redis.call('ZCARD', OPEN_EXCEPTIONS), oldest }
