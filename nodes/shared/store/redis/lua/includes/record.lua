-- Reading and writing one record hash, keeping the namespace indexes in step with it, appending
-- to its history and giving settled keys a real TTL. Needs common.lua and counters.lua first.
--
-- A record hash has the fields of KeyRecord (state, attempt, claimToken, fingerprint, result,
-- lastError, firstSeenAt, lastSeenAt, updatedAt, leaseUntil, expiresAt, duplicateCount,
-- workflowId, executionId) plus retentionMs; a null field is absent.

-- Redis frees a settled record and its history this long after retention ends; until then the
-- scripts already treat it as forgotten (expiresAt <= now), whatever clock the caller injects.
local GRACE_MS = 24 * HOUR_MS

local RECORD_STATES = { received = true, processing = true, processed = true, failed = true }

local function loadRecord(rk)
	local flat = redis.call('HGETALL', rk)
	if #flat == 0 then
		return nil
	end
	local record = {}
	for i = 1, #flat, 2 do
		record[flat[i]] = flat[i + 1]
	end
	return record
end

local function isExpired(record, now)
	local expiresAt = tonumber(record.expiresAt)
	return expiresAt ~= nil and expiresAt <= now
end

-- Checks a key's record and history before anything is written (see expectType).
local function expectItemKeys(rk, hk)
	expectType(rk, 'hash')
	expectType(hk, 'list')
	local state = redis.call('HGET', rk, 'state')
	if state and not RECORD_STATES[state] then
		error({ err = 'ERR idempotency record ' .. rk .. ' has an unknown state' })
	end
end

-- Writes `patch` (field -> value, or false to remove the field) over `record` (nil when the hash
-- is empty) and returns the record as it is now.
local function patchRecord(rk, record, patch)
	local after, set, del = {}, {}, {}
	if record then
		for field, value in pairs(record) do
			after[field] = value
		end
	end
	for field, value in pairs(patch) do
		if value == false then
			if after[field] ~= nil then
				del[#del + 1] = field
			end
			after[field] = nil
		else
			if type(value) == 'number' then
				value = int(value)
			end
			after[field] = value
			set[#set + 1] = field
			set[#set + 1] = value
		end
	end
	if #set > 0 then
		redis.call('HSET', rk, unpack(set))
	end
	if #del > 0 then
		redis.call('HDEL', rk, unpack(del))
	end
	return after
end

-- Removes a key from every index (its record is gone).
local function unindex(member)
	redis.call('ZREM', KEYS_INDEX, member)
	for _, index in pairs(STATE_INDEX) do
		redis.call('ZREM', index, member)
	end
	redis.call('ZREM', LEASE_INDEX, member)
	redis.call('ZREM', EXPIRY_INDEX, member)
end

-- Brings the indexes in line with a record that was `before` and is now `after` (nil: deleted).
local function reindex(member, before, after)
	if not after then
		unindex(member)
		return
	end
	if before and before.state ~= after.state and STATE_INDEX[before.state] then
		redis.call('ZREM', STATE_INDEX[before.state], member)
	end
	redis.call('ZADD', KEYS_INDEX, 0, member)
	redis.call('ZADD', STATE_INDEX[after.state], after.updatedAt, member)
	if after.state == 'processing' and after.leaseUntil then
		redis.call('ZADD', LEASE_INDEX, after.leaseUntil, member)
	elseif before then
		redis.call('ZREM', LEASE_INDEX, member)
	end
	if after.expiresAt then
		redis.call('ZADD', EXPIRY_INDEX, after.expiresAt, member)
	elseif before then
		redis.call('ZREM', EXPIRY_INDEX, member)
	end
end

-- A record hash of this namespace by key (keys.ts: the key index is <base>i:keys, a record
-- <base>r:<key>; same hash tag, so the same cluster slot).
local RECORD_KEY_BASE = string.sub(KEYS_INDEX, 1, #KEYS_INDEX - #'i:keys') .. 'r:'

-- Drops the index entries of records Redis has freed by TTL (retention + GRACE_MS after they
-- settled), oldest first and at most `budget` of them, so that the indexes shrink with the
-- records instead of waiting for a purge. A record that still exists keeps its entries. Needs
-- only reads that cannot fail on checked keys: safe to call after a script's writes.
local function pruneFreed(now, budget)
	local candidates = redis.call('ZRANGEBYSCORE', EXPIRY_INDEX, '-inf', '(' .. int(now - GRACE_MS), 'LIMIT', 0, budget)
	local dropped = 0
	for _, member in ipairs(candidates) do
		if redis.call('EXISTS', RECORD_KEY_BASE .. member) == 0 then
			unindex(member)
			dropped = dropped + 1
		end
	end
	return dropped
end

-- Before a key without a record gets one: entries an earlier life of it left behind (Redis
-- freed that record by TTL) go first, so no state index keeps it twice.
local function unindexLeftovers(member)
	if redis.call('ZSCORE', KEYS_INDEX, member) then
		unindex(member)
	end
end

local function readActor(first)
	return {
		workflowId = nullable(ARGV[first]),
		executionId = nullable(ARGV[first + 1]),
		node = nullable(ARGV[first + 2]),
	}
end

-- Appends one event to the key's history and counts it in the namespace's stats.
local function recordEvent(hk, now, event, reason, actor, detail)
	local entry = {
		at = now,
		event = event,
		reason = reason or cjson.null,
		workflowId = actor.workflowId or cjson.null,
		executionId = actor.executionId or cjson.null,
		node = actor.node or cjson.null,
	}
	if detail then
		entry.detail = detail
	end
	redis.call('RPUSH', hk, cjson.encode(entry))
	countEvent(now, event, reason)
end

-- A settled record (and its history) gets a real TTL so Redis reclaims the memory; 0 = forever.
local function expireAfter(key, retentionMs)
	if retentionMs > 0 then
		-- Clamped: a record written before durations were bounded may hold a longer retention.
		redis.call('PEXPIRE', key, int(math.min(retentionMs, MAX_DURATION_MS) + GRACE_MS))
	else
		redis.call('PERSIST', key)
	end
end
