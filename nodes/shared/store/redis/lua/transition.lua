--[[
Transition: applies State Ledger transitions of one namespace in order, atomically (SPEC §6).
It mirrors nodes/shared/engine/transition.ts (planTransition) rule for rule. A record past
retention counts as absent. Rejections and no-ops write nothing.

KEYS[1..9]        the namespace's indexes and stats (see includes/common.lua)
KEYS[10 + 2(i-1)] record hash of request i
KEYS[11 + 2(i-1)] history list of request i

ARGV[1]  now, epoch ms ('' = Redis TIME)
ARGV[2..4] actor: workflowId, executionId, node (nullable: 'n' = null, 's' .. text)
ARGV[5 + 8(i-1)] .. ARGV[12 + 8(i-1)], request i:
  key, kind (markProcessed | markFailed | markReceived | release), claimToken (nullable),
  verifyClaim ('1' | '0'), force ('1' | '0'), resultJson (nullable), errorMessage (nullable),
  retentionMs for a record this request creates

Returns one array per request, in order:
  { applied (1 | 0), noop (1 | 0), rejectReason | nil, record after as HGETALL pairs | nil }
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"

local now = clock(ARGV[1])
local actor = readActor(2)
local FIRST_REQUEST_ARG = 5
local ARGS_PER_REQUEST = 8
local requests = (#KEYS - FIRST_ITEM_KEY + 1) / 2

local TARGET = { markProcessed = 'processed', markFailed = 'failed', markReceived = 'received' }
local OWN_EVENT = { markProcessed = 'processed', markFailed = 'failed', markReceived = 'received', release = 'released' }

-- transition.ts planTransition: returns action, state, rejectReason, event.
local function plan(record, kind, claimToken, verifyClaim, force)
	local to = TARGET[kind]
	if force then
		if kind == 'release' then
			if record then
				return 'delete', nil, nil, 'forced'
			end
			return 'reject', nil, 'not_found', nil
		end
		if record then
			return 'set', to, nil, 'forced'
		end
		return 'create', to, nil, 'forced'
	end
	if record == nil then
		if kind == 'markReceived' then
			return 'create', 'received', nil, 'received'
		end
		return 'reject', nil, 'not_found', nil
	end

	local ownsClaim = claimToken ~= nil and claimToken == record.claimToken
	local tokenRefused = verifyClaim and not ownsClaim

	if kind == 'release' then
		if record.state == 'processing' and tokenRefused then
			return 'reject', nil, 'claim_lost', nil
		end
		return 'delete', nil, nil, 'released'
	end
	if kind == 'markReceived' then
		if record.state == 'received' then
			return 'noop', 'received', nil, nil
		end
		return 'reject', nil, 'invalid_transition', nil
	end
	-- markProcessed / markFailed settle a claim.
	if record.state == to then
		if ownsClaim or not verifyClaim then
			return 'noop', to, nil, nil
		end
		return 'reject', nil, 'claim_lost', nil
	end
	if record.state == 'processing' then
		if tokenRefused then
			return 'reject', nil, 'claim_lost', nil
		end
		return 'set', to, nil, OWN_EVENT[kind]
	end
	if tokenRefused and record.state ~= 'received' then
		return 'reject', nil, 'claim_lost', nil
	end
	return 'reject', nil, 'invalid_transition', nil
end

expectNamespaceKeys()
for i = 1, requests do
	expectItemKeys(KEYS[FIRST_ITEM_KEY + 2 * (i - 1)], KEYS[FIRST_ITEM_KEY + 2 * (i - 1) + 1])
	local kind = ARGV[FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1) + 1]
	if not OWN_EVENT[kind] then
		error({ err = 'ERR unknown transition kind' })
	end
end

local replies = {}
for i = 1, requests do
	local rk = KEYS[FIRST_ITEM_KEY + 2 * (i - 1)]
	local hk = KEYS[FIRST_ITEM_KEY + 2 * (i - 1) + 1]
	local arg = FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1)
	local key = ARGV[arg]
	local kind = ARGV[arg + 1]
	local claimToken = nullable(ARGV[arg + 2])
	local verifyClaim = ARGV[arg + 3] == '1'
	local force = ARGV[arg + 4] == '1'
	local resultJson = nullable(ARGV[arg + 5])
	local errorMessage = nullable(ARGV[arg + 6])
	local requestRetentionMs = tonumber(ARGV[arg + 7])

	local stored = loadRecord(rk)
	local record = stored
	if stored and isExpired(stored, now) then
		record = nil
	end
	local action, to, rejectReason, event = plan(record, kind, claimToken, verifyClaim, force)
	local after = record

	if action == 'set' or action == 'create' then
		local retentionMs = requestRetentionMs
		local patch
		if action == 'set' then
			-- A claimed record keeps the retention its claim set.
			retentionMs = tonumber(record.retentionMs) or requestRetentionMs
			patch = { state = to, updatedAt = now, leaseUntil = false }
		else
			redis.call('DEL', rk)
			patch = {
				state = to,
				attempt = 0,
				firstSeenAt = now,
				lastSeenAt = now,
				updatedAt = now,
				retentionMs = retentionMs,
				duplicateCount = 0,
				workflowId = actor.workflowId or false,
				executionId = actor.executionId or false,
			}
		end
		local settles = to == 'processed' or to == 'failed'
		if to == 'processed' then
			patch.result = resultJson or false
		elseif to == 'failed' then
			patch.lastError = errorMessage or false
		end
		if settles and retentionMs > 0 then
			patch.expiresAt = now + retentionMs
		else
			patch.expiresAt = false
		end
		if action == 'set' then
			after = patchRecord(rk, record, patch)
		else
			after = patchRecord(rk, nil, patch)
		end
		reindex(key, stored, after)
		if settles then
			expireAfter(rk, retentionMs)
			expireAfter(hk, retentionMs)
		else
			redis.call('PERSIST', rk)
			redis.call('PERSIST', hk)
		end
	elseif action == 'delete' then
		redis.call('DEL', rk)
		reindex(key, stored, nil)
		after = nil
	end

	if event then
		local reason = nil
		local detail = nil
		if event == 'forced' then
			reason = kind
			detail = { from = (record and record.state) or cjson.null, to = to or 'released', kind = kind }
		end
		recordEvent(hk, now, event, reason, actor, detail)
		if action == 'delete' then
			-- The history of a released key outlives it by the retention its record had.
			expireAfter(hk, tonumber(record.retentionMs) or 0)
		end
	end

	local applied = 0
	local noop = 0
	if action ~= 'reject' then
		applied = 1
	end
	if action == 'noop' then
		noop = 1
	end
	local recordAfter = false
	if after then
		recordAfter = redis.call('HGETALL', rk)
	end
	replies[i] = { applied, noop, rejectReason or false, recordAfter }
end
return replies
