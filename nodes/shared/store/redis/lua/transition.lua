--[[
Transition: applies State Ledger transitions of one namespace in order, atomically (docs/CONTRACT.md §6).
The rules are nodes/shared/engine/model/planTransition.ts (planTransition), written once in
includes/planTransition.lua. A record past retention counts as absent. Rejections and no-ops write
nothing.

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 2(i-1)] record hash of request i
KEYS[12 + 2(i-1)] history list of request i

ARGV[1]  now, epoch ms ('' = Redis TIME)
ARGV[2..4] actor: workflowId, executionId, node (nullable: 'n' = null, 's' .. text)
ARGV[5 + 5(i-1)] .. ARGV[9 + 5(i-1)], request i:
  key;
  kind and flags: one letter of KIND_OF_CODE, then verifyClaim and force ('1' | '0' each);
  claimToken (nullable);
  payload (nullable): the result JSON of a markProcessed, the error message of a markFailed;
  retentionMs for a record this request creates

Returns one array per request, in order:
  { applied (1 | 0), noop (1 | 0), rejectReason | nil, record after as its hash (HGETALL) | nil }

What request.lua keeps for a re-sent call is the account ACCOUNT_CODE of each request, one letter
each; the re-sent call answers with it and the records as they are then (read, not written) —
but a request the first run answered without a record (a release that deleted it: `d`; not_found)
is answered without one again, though another execution created the key meanwhile.
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"
--@include "planTransition.lua"

local now = clock(ARGV[1])
local actor = readActor(2)
local FIRST_REQUEST_ARG = 5
local ARGS_PER_REQUEST = 5
local requests = (#KEYS - FIRST_ITEM_KEY + 1) / 2

local KIND_OF_CODE = { P = 'markProcessed', F = 'markFailed', R = 'markReceived', L = 'release' }
local ACCOUNT_CODE = { applied = 'a', noop = 'n', claim_lost = 'l', invalid_transition = 'i', not_found = 'f' }
local ACCOUNT_OF_CODE = { d = 'applied' } -- d: applied, and the record deleted (a release)
for account, code in pairs(ACCOUNT_CODE) do
	ACCOUNT_OF_CODE[code] = account
end
-- The accounts the first run answered with no record after.
local WITHOUT_RECORD = { d = true, f = true }

-- The live record of `rk` as its hash, false when there is none or it is past retention.
local function liveHash(rk)
	local flat = redis.call('HGETALL', rk)
	local record = decodeRecord(rk, flat)
	if record == nil or isExpired(record, now) then
		return false
	end
	return flat
end

if REPLAY then
	local replies = {}
	for i = 1, requests do
		local code = string.sub(REPLAY, i, i)
		local account = ACCOUNT_OF_CODE[code]
		local applied, noop, rejectReason = 1, 0, false
		if account == 'noop' then
			noop = 1
		elseif account ~= 'applied' then
			applied, rejectReason = 0, account
		end
		local record = false
		if not WITHOUT_RECORD[code] then
			record = liveHash((itemKeys(i)))
		end
		replies[i] = { applied, noop, rejectReason, record }
	end
	return replies
end

expectNamespaceKeys()
for i = 1, requests do
	local rk, hk = itemKeys(i)
	expectItemKeys(rk, hk, false, TRANSITION_FIELDS)
	local flags = ARGV[FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1) + 1] or ''
	if not KIND_OF_CODE[string.sub(flags, 1, 1)] or not string.match(flags, '^.[01][01]$') then
		error({ err = 'ERR unknown transition kind' })
	end
	-- Checked before the first write: a retention PEXPIRE cannot take would fail after it.
	duration(ARGV[FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1) + 4], 'retentionMs')
end

local replies = {}
local accounts = {}
for i = 1, requests do
	local rk, hk = itemKeys(i)
	local arg = FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1)
	local flags = ARGV[arg + 1]
	local kind = KIND_OF_CODE[string.sub(flags, 1, 1)]
	local payload = nullable(ARGV[arg + 3])
	local action, rejectReason, after = applyTransition(rk, hk, ARGV[arg], {
		kind = kind,
		claimToken = nullable(ARGV[arg + 2]),
		verifyClaim = string.sub(flags, 2, 2) == '1',
		force = string.sub(flags, 3, 3) == '1',
		resultJson = kind == 'markProcessed' and payload or nil,
		errorMessage = kind == 'markFailed' and payload or nil,
		retentionMs = duration(ARGV[arg + 4], 'retentionMs'),
	}, now, actor, nil)

	local applied, noop = 0, 0
	if action ~= 'reject' then
		applied = 1
	end
	if action == 'noop' then
		noop = 1
		accounts[i] = ACCOUNT_CODE.noop
	elseif action == 'reject' then
		accounts[i] = ACCOUNT_CODE[rejectReason]
	elseif action == 'delete' then
		accounts[i] = 'd'
	else
		accounts[i] = ACCOUNT_CODE.applied
	end
	-- The record as the script left it, as Redis has it: no table of it is built here.
	local recordAfter = false
	if after then
		recordAfter = redis.call('HGETALL', rk)
	end
	replies[i] = { applied, noop, rejectReason or false, recordAfter }
end
pruneFreed(now, 50 + 2 * requests)
flushCounts()
return replies, table.concat(accounts)
