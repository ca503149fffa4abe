-- Hourly counters per namespace, one field per (hour, counter) in the STATS hash. The counters a
-- history event feeds are named here and nowhere else; stats.lua reads exactly these.

local STATS_KEEP_MS = 100 * 24 * HOUR_MS

local COUNTERS = {
	'new', 'duplicate', 'processed', 'failed', 'released',
	'ambiguous:in_progress', 'ambiguous:lease_expired', 'ambiguous:payload_mismatch',
	'ambiguous:previously_failed', 'ambiguous:max_attempts', 'ambiguous:duplicate_in_batch',
}

local COUNTER_OF_EVENT = {
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

-- Hours older than the stats retention are dropped when a new hour starts (bounded per call).
local function pruneStats(before)
	local old = redis.call('ZRANGEBYSCORE', STATS_HOURS, '-inf', '(' .. int(before), 'LIMIT', 0, 100)
	for _, hour in ipairs(old) do
		redis.call('HDEL', STATS, unpack(hourFields(hour)))
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
