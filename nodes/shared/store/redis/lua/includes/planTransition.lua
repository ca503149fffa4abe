-- The State Ledger's transition rules (nodes/shared/engine/model/planTransition.ts, planTransition) and
-- their effect on one key: record, indexes, history, TTLs. transition.lua applies them per
-- request; resolve_exception.lua applies a release or a forced markProcessed with them. Needs
-- common.lua, counters.lua and record.lua first.

local TRANSITION_TARGET = { markProcessed = 'processed', markFailed = 'failed', markReceived = 'received' }
local TRANSITION_EVENT = { markProcessed = 'processed', markFailed = 'failed', markReceived = 'received', release = 'released' }

-- planTransition() of engine/model/planTransition.ts: returns action, state, rejectReason, event.
local function planTransition(record, kind, claimToken, verifyClaim, force)
	local to = TRANSITION_TARGET[kind]
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
		-- A live claim needs its token; a token that is not the record's is a stale worker, refused
		-- in every state; an operator without a token may release a settled key.
		local staleToken = verifyClaim and claimToken ~= nil and not ownsClaim
		if (record.state == 'processing' and tokenRefused) or staleToken then
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
		return 'set', to, nil, TRANSITION_EVENT[kind]
	end
	if tokenRefused and record.state ~= 'received' then
		return 'reject', nil, 'claim_lost', nil
	end
	return 'reject', nil, 'invalid_transition', nil
end

--[[
Applies one transition to the key whose record hash is `rk` and history list is `hk`.
`request`: kind, claimToken, verifyClaim, force, resultJson, errorMessage, retentionMs (for a
record it creates). `fact` (nil or a table) adds to the history event, as the Postgres
apply_transition's p_note does: its `resolution` becomes the event's reason, and it is the
event's detail (merged into { from, to, kind } for a forced event).
Returns action ('set' | 'create' | 'delete' | 'noop' | 'reject'), rejectReason, and the live
record after (nil once deleted or when there is none).
]]
local function applyTransition(rk, hk, key, request, now, actor, fact)
	local kind = request.kind
	local stored = loadRecord(rk)
	local record = stored
	if stored and isExpired(stored, now) then
		record = nil
	end
	local action, to, rejectReason, event =
		planTransition(record, kind, request.claimToken, request.verifyClaim, request.force)
	local after = record

	if action == 'set' or action == 'create' then
		local retentionMs = request.retentionMs
		local patch
		if action == 'set' then
			-- A claimed record keeps the retention its claim set.
			retentionMs = tonumber(record.retentionMs) or request.retentionMs
			patch = { state = to, updatedAt = now, leaseUntil = false }
		else
			if stored then
				redis.call('DEL', rk)
			end
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
			patch.result = request.resultJson or false
		elseif to == 'failed' then
			patch.lastError = request.errorMessage or false
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
		if fact then
			reason = fact.resolution or reason
			detail = detail or {}
			for name, value in pairs(fact) do
				detail[name] = value
			end
		end
		recordEvent(hk, now, event, reason, actor, detail)
		if event == 'processed' and not fact and after and (tonumber(after.attempt) or 0) > 1 then
			-- A retry that then succeeded (the report); a resolution's processed is a person's doing.
			countEvent(now, 'retry_succeeded')
		end
		if action == 'delete' then
			-- The history of a released key outlives it by the retention its record had.
			expireAfter(hk, tonumber(record.retentionMs) or 0)
		end
	end
	return action, rejectReason, after
end
