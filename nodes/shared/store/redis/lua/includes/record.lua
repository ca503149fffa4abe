-- Reading and writing one record hash, keeping the namespace indexes in step with it, appending
-- to its history and giving settled keys a real TTL. Needs common.lua and counters.lua first.
--
-- A record has the fields of KeyRecord (state, attempt, claimToken, fingerprint, result,
-- lastError, firstSeenAt, lastSeenAt, updatedAt, leaseUntil, expiresAt, duplicateCount,
-- workflowId, executionId) plus retentionMs. The scripts work on it as a table by those names;
-- the hash stores each under a one-letter field (FIELD below, and codec.ts), the state as one
-- letter, and leaves out a null field and an attempt or duplicateCount of 0: a listpack of short
-- fields is less than two thirds of one with the names spelled out. A hash written before this
-- layout has the long names and full state words; it is read as it is and rewritten in the short
-- layout by its first change.

-- Redis frees a settled record and its history this long after retention ends; until then the
-- scripts already treat it as forgotten (expiresAt <= now), whatever clock the caller injects.
local GRACE_MS = 24 * HOUR_MS

local RECORD_STATES = { received = true, processing = true, processed = true, failed = true }

local FIELD = {
	state = 's', attempt = 'a', claimToken = 't', fingerprint = 'g', result = 'r', lastError = 'e',
	firstSeenAt = 'f', lastSeenAt = 'l', updatedAt = 'u', leaseUntil = 'p', expiresAt = 'x',
	retentionMs = 'n', duplicateCount = 'd', workflowId = 'w', executionId = 'i',
}
local NAME_OF_FIELD = {}
for name, field in pairs(FIELD) do
	NAME_OF_FIELD[field] = name
end
local STATE_CODE = { received = 'r', processing = 'c', processed = 'p', failed = 'f' }
local STATE_OF_CODE = { r = 'received', c = 'processing', p = 'processed', f = 'failed' }
-- Counts that are not stored while they are 0.
local ZERO_IS_ABSENT = { attempt = true, duplicateCount = true }

-- Hashes read in the long-name layout, by key, with those field names: their first write sets
-- every field in the short layout and then drops the long ones (HDEL, so the key keeps its TTL).
local longLayout = {}
-- Records read by the checks before the first write (expectItemKeys), handed to the first
-- loadRecord of the key and then forgotten, so that a key repeated in one call is read again.
local checkedRecords = {}

-- Item i's keys in a script over records (from FIRST_ITEM_KEY, two per item): its record hash
-- and its history list.
local function itemKeys(i)
	local k = FIRST_ITEM_KEY + 2 * (i - 1)
	return KEYS[k], KEYS[k + 1]
end

local function decodeRecord(rk, flat)
	if #flat == 0 then
		longLayout[rk] = nil
		return nil
	end
	local record = {}
	local long = nil
	for i = 1, #flat, 2 do
		local name = NAME_OF_FIELD[flat[i]]
		if name then
			record[name] = flat[i + 1]
		else
			record[flat[i]] = flat[i + 1]
			long = long or {}
			long[#long + 1] = flat[i]
		end
	end
	if long then
		longLayout[rk] = long
	else
		longLayout[rk] = nil
		record.state = STATE_OF_CODE[record.state] or record.state
	end
	record.attempt = record.attempt or '0'
	record.duplicateCount = record.duplicateCount or '0'
	return record
end

local function loadRecord(rk)
	local record = checkedRecords[rk]
	if record ~= nil then
		checkedRecords[rk] = nil
		return record or nil
	end
	return decodeRecord(rk, redis.call('HGETALL', rk))
end

local function isExpired(record, now)
	local expiresAt = tonumber(record.expiresAt)
	return expiresAt ~= nil and expiresAt <= now
end

-- A command on a key that may hold another type: the same error as expectType when it does.
local function readAs(command, key, expected, ...)
	local reply = redis.pcall(command, key, ...)
	if type(reply) == 'table' and reply.err then
		expectType(key, expected)
		error(reply)
	end
	return reply
end

-- The fields of a record that a transition decides and writes by (includes/planTransition.lua):
-- a transition reads only these (HMGET), and answers with the record as Redis has it after;
-- attempt tells a retry that then succeeded (the report's counter, includes/counters.lua).
local TRANSITION_FIELDS = { 'state', 'claimToken', 'expiresAt', 'retentionMs', 'leaseUntil', 'result', 'lastError', 'attempt' }

-- The record with only the fields `names`, in the short layout; a hash without the short state
-- field (none, or one in the long layout) is read whole.
local function readFields(rk, names)
	local fields = {}
	for i, name in ipairs(names) do
		fields[i] = FIELD[name]
	end
	local values = readAs('HMGET', rk, 'hash', unpack(fields))
	if not values[1] then
		return decodeRecord(rk, readAs('HGETALL', rk, 'hash'))
	end
	local record = {}
	for i, name in ipairs(names) do
		if values[i] then
			record[name] = values[i]
		end
	end
	record.state = STATE_OF_CODE[record.state] or record.state
	longLayout[rk] = nil
	return record
end

-- Checks a key's record and history before anything is written (see expectType), and keeps the
-- record it read for the key's first loadRecord. With `readLast`, returns the last history entry
-- (false when there is none) instead of only checking the list's type. With `names` (its first
-- being 'state'), the record read has only those fields.
local function expectItemKeys(rk, hk, readLast, names)
	local record
	if names then
		record = readFields(rk, names)
	else
		record = decodeRecord(rk, readAs('HGETALL', rk, 'hash'))
	end
	if record and not RECORD_STATES[record.state] then
		error({ err = 'ERR idempotency record ' .. rk .. ' has an unknown state' })
	end
	checkedRecords[rk] = record or false
	if readLast then
		return readAs('LINDEX', hk, 'list', -1)
	end
	expectType(hk, 'list')
	return nil
end

local function encodeValue(name, value)
	if name == 'state' then
		return STATE_CODE[value]
	end
	if type(value) == 'number' then
		return int(value)
	end
	return value
end

-- Writes `patch` (field -> value, or false to remove the field) over `record` (nil when the hash
-- is empty) and returns the record as it is now.
local function patchRecord(rk, record, patch)
	local after = {}
	if record then
		for field, value in pairs(record) do
			after[field] = value
		end
	end
	for field, value in pairs(patch) do
		if value == false then
			after[field] = nil
		else
			if type(value) == 'number' then
				value = int(value)
			end
			after[field] = value
		end
	end
	after.attempt = after.attempt or '0'
	after.duplicateCount = after.duplicateCount or '0'
	if record == nil then
		longLayout[rk] = nil
	end
	local longFields = longLayout[rk]
	local rewrite = record == nil or longFields ~= nil
	local changed = rewrite and after or patch
	local set, del = {}, {}
	for name, value in pairs(changed) do
		local field = FIELD[name]
		if field then
			if value == false or (ZERO_IS_ABSENT[name] and tonumber(value) == 0) then
				if not rewrite and record[name] ~= nil and not (ZERO_IS_ABSENT[name] and tonumber(record[name]) == 0) then
					del[#del + 1] = field
				end
			else
				set[#set + 1] = field
				set[#set + 1] = encodeValue(name, value)
			end
		end
	end
	if #set > 0 then
		redis.call('HSET', rk, unpack(set))
	end
	if longFields then
		redis.call('HDEL', rk, unpack(longFields))
		longLayout[rk] = nil
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
-- A record that exists is in the key index already, only a processing record is in the lease
-- index and only one with expiresAt in the expiry index: entries that cannot be there are not
-- removed.
local function reindex(member, before, after)
	if not after then
		unindex(member)
		return
	end
	if not before and redis.call('ZADD', KEYS_INDEX, 'NX', 0, member) == 0 then
		-- Entries an earlier life of the key left behind (Redis freed that record by TTL) go
		-- first, so no state index keeps it twice.
		unindex(member)
		redis.call('ZADD', KEYS_INDEX, 0, member)
	end
	if before and before.state ~= after.state and STATE_INDEX[before.state] then
		redis.call('ZREM', STATE_INDEX[before.state], member)
	end
	redis.call('ZADD', STATE_INDEX[after.state], after.updatedAt, member)
	if after.state == 'processing' and after.leaseUntil then
		redis.call('ZADD', LEASE_INDEX, after.leaseUntil, member)
	elseif before and before.state == 'processing' then
		redis.call('ZREM', LEASE_INDEX, member)
	end
	if after.expiresAt then
		redis.call('ZADD', EXPIRY_INDEX, after.expiresAt, member)
	elseif before and before.expiresAt then
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

local function readActor(first)
	return {
		workflowId = nullable(ARGV[first]),
		executionId = nullable(ARGV[first + 1]),
		node = nullable(ARGV[first + 2]),
	}
end

--[[
History entries. One list per key, oldest first; an entry is one packed text (codec.ts reads it):

  <at>,<event code>|<reason><workflowId><executionId><node>[<detail>]

each text field `~` for null or `<bytes>:<text>`; a reason the scripts write themselves may be
`=<code>` instead; detail is JSON. A duplicate_seen entry is a run of consecutive duplicates:
`<at>,d,<lastAt>,<count>|…` (no lastAt and count: one duplicate at <at>). Entries written before
this layout are JSON objects ({"at":…,"event":…}); they are read as they are, and an old
duplicate_seen at the end of a list starts the run the next duplicate joins.
]]
local EVENT_CODE = {
	claimed = 'c', duplicate_seen = 'd', ambiguous_seen = 'a', processed = 'p', failed = 'f',
	received = 'r', released = 'l', reclaimed = 'R', forced = 'F',
}
local REASON_CODE = {
	first_seen = 'a', already_processed = 'b', in_progress = 'c', lease_expired = 'd', reclaimed = 'e',
	payload_mismatch = 'f', retry_after_failure = 'g', previously_failed = 'h', max_attempts = 'i',
	duplicate_in_batch = 'j', rollback = 'k', discard = 'l', replay = 'm', markProcessed = 'n',
	markFailed = 'o', markReceived = 'p', release = 'q',
}

local function packText(text)
	if text == nil then
		return '~'
	end
	return #text .. ':' .. text
end

local function packReason(reason)
	if reason == nil then
		return '~'
	end
	local code = REASON_CODE[reason]
	if code then
		return '=' .. code
	end
	return #reason .. ':' .. reason
end

local function packActor(reason, actor)
	return packReason(reason) .. packText(actor.workflowId) .. packText(actor.executionId) .. packText(actor.node)
end

-- packActor of the call's actor by reason: a chunk writes the same few texts for every key.
local packedActors = {}
local function packedActor(reason, actor)
	local byReason = packedActors[actor]
	if not byReason then
		byReason = {}
		packedActors[actor] = byReason
	end
	local known = reason
	if known == nil then
		known = false
	end
	local text = byReason[known]
	if not text then
		text = packActor(reason, actor)
		byReason[known] = text
	end
	return text
end

-- int(now) of the last call: every event of a chunk has the same time.
local lastTime, lastTimeText = nil, nil
local function timeText(now)
	if now ~= lastTime then
		lastTime, lastTimeText = now, int(now)
	end
	return lastTimeText
end

-- The last entry of each history list this call has read or written, false for an empty list;
-- claim.lua fills it in its checks, so extending a run costs no read.
local lastEntries = {}

-- The run a history entry is: its start, count and the text after its header; nil when the entry
-- is not a duplicate_seen.
local function runOf(entry)
	if not entry then
		return nil
	end
	if string.sub(entry, 1, 1) == '{' then
		local ok, old = pcall(cjson.decode, entry)
		if not ok or type(old) ~= 'table' or old.event ~= 'duplicate_seen' or tonumber(old.at) == nil then
			return nil
		end
		local function text(value)
			if type(value) == 'string' then
				return value
			end
			return nil
		end
		return tonumber(old.at), 1, packActor(text(old.reason), { workflowId = text(old.workflowId), executionId = text(old.executionId), node = text(old.node) })
	end
	local bar = string.find(entry, '|', 1, true)
	if not bar then
		return nil
	end
	local at, code, _, runCount = string.match(string.sub(entry, 1, bar - 1), '^(%-?%d+),(%a),?(%-?%d*),?(%d*)$')
	if code ~= 'd' then
		return nil
	end
	return tonumber(at), tonumber(runCount) or 1, string.sub(entry, bar + 1)
end

-- Appends one event to the key's history and counts it in the namespace's stats; `times`
-- duplicates (default 1) join the run at the end of the history, or start one.
local function recordEvent(hk, now, event, reason, actor, detail, times)
	times = times or 1
	local entry
	if event == 'duplicate_seen' then
		local last = lastEntries[hk]
		if last == nil then
			last = redis.call('LINDEX', hk, -1)
		end
		local runAt, runCount, rest = runOf(last)
		if runAt then
			entry = int(runAt) .. ',d,' .. timeText(now) .. ',' .. int(runCount + times) .. '|' .. rest
			redis.call('LSET', hk, -1, entry)
			lastEntries[hk] = entry
			countEvent(now, event, reason, times)
			return
		end
		if times > 1 then
			entry = timeText(now) .. ',d,' .. timeText(now) .. ',' .. int(times) .. '|' .. packedActor(reason, actor)
		end
	end
	if not entry then
		entry = timeText(now) .. ',' .. EVENT_CODE[event] .. '|' .. packedActor(reason, actor)
		if detail then
			entry = entry .. packText(cjson.encode(detail))
		end
	end
	redis.call('RPUSH', hk, entry)
	lastEntries[hk] = entry
	countEvent(now, event, reason, times)
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
