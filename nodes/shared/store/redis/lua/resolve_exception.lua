--[[
Resolve exceptions: closes one exception, or every open exception of a key, and acts on the key
in the same step (docs/CONTRACT.md §7; the Postgres twin is resolve_exception() in migration 004):
  replay         releases the key as a release without claim check does: the next delivery is new;
                 a key that is processing with a valid lease (a worker may be writing) is refused —
                 nothing changes, the exceptions stay open — unless forced (recorded as forced);
  markProcessed  forces the key to processed with the result (a key without a record gets one:
                 attempt 0, 30 days' retention);
  reconciled     the same, unless the key is already processed (then left as it is);
  discard        leaves the key as it is.
A Reconcile's replay is conditional: with a claim token, a processing or failed key must still
carry it, and any other state is refused `claim_changed`; with endedBy, the claim must have
ended (lease end, or the last update of a failed key) by then, else `lookup_too_early`. With
actOnKey the key is acted on even when none of its exceptions is open.
The key's history records it: `released` (replay) or `forced` with the resolution as reason and
{ resolution, exceptionIds, resolvedBy, resolvedVia, note } in the detail (with from / to / kind when forced).
When nothing is open, nothing changes.

KEYS[1..10] the namespace's indexes and stats (see includes/common.lua)
KEYS[11]    record hash of the key
KEYS[12]    its history list
KEYS[13]    every exception of the key (hash uuid -> JSON)
KEYS[14]    its open exceptions (hash reason -> uuid)

ARGV[1]  now, epoch ms ('' = Redis TIME)
ARGV[2..4] actor: workflowId, executionId, node (nullable: 'n' = null, 's' .. text)
ARGV[5]  key
ARGV[6]  uuid of the exception to resolve, or '' for every open exception of the key
ARGV[7]  resolution: replay | markProcessed | discard
ARGV[8]  resolvedBy (nullable)
ARGV[9]  note (nullable)
ARGV[10] result JSON for markProcessed (nullable)
ARGV[11] force a replay of a live claim: '1' | '0'
ARGV[12] resolvedVia: person | slack | reconcile
ARGV[13] claim token the key must still carry for a replay (nullable)
ARGV[14] endedBy, epoch ms, for a replay ('' = not checked)
ARGV[15] act on the key even when none of its exceptions is open: '1' | '0' (only without uuid)

Returns { { exception JSON, ... } resolved now (oldest first; empty when none was open or refused),
          the key's record after as HGETALL pairs (empty when there is none),
          'live_claim' | 'claim_changed' | 'lookup_too_early' when a replay was refused | nil }
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"
--@include "planTransition.lua"
--@include "exceptions.lua"

-- What Postgres' resolve_exception() gives a record that markProcessed creates.
local CREATED_RETENTION_MS = 30 * 24 * HOUR_MS
local RESOLUTIONS = { replay = true, markProcessed = true, discard = true, reconciled = true }
local RESOLVED_VIA = { person = true, slack = true, reconcile = true }

local now = clock(ARGV[1])
local actor = readActor(2)
local key = ARGV[5]
local uuid = ARGV[6]
local resolution = ARGV[7]
local resolvedBy = nullable(ARGV[8])
local note = nullable(ARGV[9])
local resultJson = nullable(ARGV[10])
local force = ARGV[11] == '1'
local resolvedVia = ARGV[12]
local claimToken = nullable(ARGV[13])
local endedBy = tonumber(ARGV[14])
local actOnKey = ARGV[15] == '1' and uuid == ''
local rk, hk, xk, xok = KEYS[FIRST_ITEM_KEY], KEYS[FIRST_ITEM_KEY + 1], KEYS[FIRST_ITEM_KEY + 2], KEYS[FIRST_ITEM_KEY + 3]

if not RESOLUTIONS[resolution] then
	error({ err = 'ERR unknown resolution' })
end
if not RESOLVED_VIA[resolvedVia] or (ARGV[14] ~= '' and endedBy == nil) then
	error({ err = 'ERR bad resolvedVia or endedBy' })
end
expectNamespaceKeys()
expectItemKeys(rk, hk)
expectExceptionKeys(xk, xok)

local open = {}
if uuid ~= '' then
	local exception = loadException(xk, uuid)
	if exception and exception.status == 'open' then
		open[1] = exception
	end
else
	local pointers = redis.call('HGETALL', xok)
	for i = 2, #pointers, 2 do
		local exception = loadException(xk, pointers[i])
		if exception and exception.status == 'open' then
			open[#open + 1] = exception
		end
	end
end
if #open == 0 and not actOnKey then
	flushCounts()
	return { {}, redis.call('HGETALL', rk) }
end

if resolution == 'replay' and not force then
	local record = loadRecord(rk)
	if record and not isExpired(record, now) and record.state == 'processing'
		and tonumber(record.leaseUntil) ~= nil and tonumber(record.leaseUntil) > now then
		-- A worker may be writing right now: releasing would let the next delivery write too.
		flushCounts()
		return { {}, redis.call('HGETALL', rk), 'live_claim' }
	end
end
if resolution == 'replay' and (claimToken ~= nil or endedBy ~= nil) then
	local record = loadRecord(rk)
	if record and not isExpired(record, now) then
		local refused = nil
		if (record.state ~= 'processing' and record.state ~= 'failed') or (claimToken ~= nil and record.claimToken ~= claimToken) then
			-- Claimed again or settled since the lookup: what was looked up is not the key's state now.
			refused = 'claim_changed'
		elseif endedBy ~= nil and math.max(tonumber(record.leaseUntil) or 0, tonumber(record.updatedAt) or 0) > endedBy then
			-- The write may have landed after the lookup: not finding it proves nothing yet.
			refused = 'lookup_too_early'
		end
		if refused then
			flushCounts()
			return { {}, redis.call('HGETALL', rk), refused }
		end
	end
end

table.sort(open, function(a, b)
	local at, bt = tonumber(a.firstSeenAt), tonumber(b.firstSeenAt)
	if at ~= bt then
		return at < bt
	end
	return a.id < b.id
end)
local resolved, ids = {}, {}
for i, exception in ipairs(open) do
	exception.status = 'resolved'
	exception.resolution = resolution
	exception.resolvedBy = resolvedBy
	exception.resolvedVia = resolvedVia
	exception.resolvedAt = int(now)
	exception.note = note
	resolved[i] = saveException(xk, exception)
	ids[i] = exception.id
	-- an incident (groupBy = key) is named under the field '', a per-reason exception under its reason
	local field = exception.reason
	if exception.groupBy == 'key' then
		field = ''
	end
	if redis.call('HGET', xok, field) == uuidOf(exception.id) then
		redis.call('HDEL', xok, field)
	end
	redis.call('ZREM', OPEN_EXCEPTIONS, uuidOf(exception.id))
	countResolution(now, resolvedVia, now - tonumber(exception.firstSeenAt))
end

local fact = { resolution = resolution, exceptionIds = ids, resolvedBy = resolvedBy or cjson.null, resolvedVia = resolvedVia, note = note or cjson.null }
local current = loadRecord(rk)
local alreadyProcessed = current ~= nil and not isExpired(current, now) and current.state == 'processed'
if resolution == 'discard' or (resolution == 'reconciled' and alreadyProcessed) then
	-- The record as it is, even past retention: the key is left alone.
	local record = current
	local state = (record and record.state) or cjson.null
	local detail = { from = state, to = state, kind = resolution }
	for name, value in pairs(fact) do
		detail[name] = value
	end
	local newHistory = redis.call('EXISTS', hk) == 0
	recordEvent(hk, now, 'forced', resolution, actor, detail)
	if record == nil and newHistory then
		-- The history of a key without a record would otherwise stay for good.
		expireAfter(hk, CREATED_RETENTION_MS)
	end
	flushCounts()
	return { resolved, redis.call('HGETALL', rk) }
end

local request = { kind = 'release', verifyClaim = false, force = force, retentionMs = 0 }
if resolution == 'markProcessed' or resolution == 'reconciled' then
	request = { kind = 'markProcessed', verifyClaim = false, force = true, resultJson = resultJson, retentionMs = CREATED_RETENTION_MS }
end
local _, _, after = applyTransition(rk, hk, key, request, now, actor, fact)
if after then
	flushCounts()
	return { resolved, redis.call('HGETALL', rk) }
end
flushCounts()
return { resolved, {} }
