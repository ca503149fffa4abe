-- Hourly counters per namespace, one field per (hour, counter) in the STATS hash. The counters a
-- history event feeds are named here and nowhere else; stats.lua reads exactly these, report.lua
-- these and REPORT_COUNTERS, and each hour's RESOLVED field: the exceptions resolved in that hour
-- as '<resolvedVia>:<ms open>' entries joined by ',' (resolutions are rare; exact percentiles
-- need every duration).

local STATS_KEEP_MS = 100 * 24 * HOUR_MS

local COUNTERS = {
	'new', 'duplicate', 'processed', 'failed', 'released',
	'ambiguous:in_progress', 'ambiguous:lease_expired', 'ambiguous:payload_mismatch',
	'ambiguous:previously_failed', 'ambiguous:max_attempts', 'ambiguous:duplicate_in_batch',
	-- No history event feeds it: not_replicated.lua moves a claim's `new` here (RedisStore).
	'ambiguous:not_replicated',
}

-- Counted only for the report: a processed key past its first attempt (a retry that then
-- succeeded), an exception opened.
local REPORT_COUNTERS = { 'retry_succeeded', 'opened' }
local RESOLVED = 'resolved'

local COUNTER_OF_EVENT = {
	retry_succeeded = 'retry_succeeded',
	exception_opened = 'opened',
	claimed = 'new',
	reclaimed = 'new',
	duplicate_seen = 'duplicate',
	processed = 'processed',
	failed = 'failed',
	released = 'released',
}

local function hourFields(hour)
	local fields = {}
	for i, counter in ipairs(COUNTERS) do
		fields[i] = hour .. ':' .. counter
	end
	return fields
end

-- Every field an hour may have, for pruning.
local function allHourFields(hour)
	local fields = hourFields(hour)
	for _, counter in ipairs(REPORT_COUNTERS) do
		fields[#fields + 1] = hour .. ':' .. counter
	end
	fields[#fields + 1] = hour .. ':' .. RESOLVED
	return fields
end

-- Hours older than the stats retention are dropped when a new hour starts (bounded per call).
local function pruneStats(before)
	local old = redis.call('ZRANGEBYSCORE', STATS_HOURS, '-inf', '(' .. int(before), 'LIMIT', 0, 100)
	for _, hour in ipairs(old) do
		redis.call('HDEL', STATS, unpack(allHourFields(hour)))
		redis.call('ZREM', STATS_HOURS, hour)
	end
end

-- Counts are summed in the script and written once per (hour, counter) by flushCounts(), which
-- every script that records events calls before it returns: one HINCRBY per counter per call
-- instead of two commands per event.
local pendingCounts, pendingHours = {}, {}

local function countEvent(now, event, reason, times)
	local counter = COUNTER_OF_EVENT[event]
	if event == 'ambiguous_seen' then
		counter = 'ambiguous:' .. reason
	end
	if not counter then
		return
	end
	local hour = int(now - (now % HOUR_MS))
	local field = hour .. ':' .. counter
	pendingCounts[field] = (pendingCounts[field] or 0) + (times or 1)
	pendingHours[hour] = true
end

-- An exception resolved at `now` after `openMs` open, for the report's time to resolve.
local function countResolution(now, via, openMs)
	local hour = int(now - (now % HOUR_MS))
	local field = hour .. ':' .. RESOLVED
	local entry = via .. ':' .. int(math.max(openMs, 0))
	local list = redis.call('HGET', STATS, field)
	if list then
		entry = list .. ',' .. entry
	end
	redis.call('HSET', STATS, field, entry)
	pendingHours[hour] = true
end

local function flushCounts()
	for field, n in pairs(pendingCounts) do
		redis.call('HINCRBY', STATS, field, n)
	end
	for hour in pairs(pendingHours) do
		if redis.call('ZADD', STATS_HOURS, 'NX', hour, hour) == 1 then
			pruneStats(tonumber(hour) - STATS_KEEP_MS)
		end
	end
	pendingCounts, pendingHours = {}, {}
end
