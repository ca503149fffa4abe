--[[
Transition: applies State Ledger transitions of one namespace in order, atomically (SPEC §6).
The rules are nodes/shared/engine/transition.ts (planTransition), written once in
includes/transition.lua. A record past retention counts as absent. Rejections and no-ops write
nothing.

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 2(i-1)] record hash of request i
KEYS[12 + 2(i-1)] history list of request i

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
--@include "transition.lua"

local now = clock(ARGV[1])
local actor = readActor(2)
local FIRST_REQUEST_ARG = 5
local ARGS_PER_REQUEST = 8
local requests = (#KEYS - FIRST_ITEM_KEY + 1) / 2

expectNamespaceKeys()
for i = 1, requests do
	expectItemKeys(KEYS[FIRST_ITEM_KEY + 2 * (i - 1)], KEYS[FIRST_ITEM_KEY + 2 * (i - 1) + 1])
	local kind = ARGV[FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1) + 1]
	if not TRANSITION_EVENT[kind] then
		error({ err = 'ERR unknown transition kind' })
	end
	-- Checked before the first write: a retention PEXPIRE cannot take would fail after it.
	duration(ARGV[FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1) + 7], 'retentionMs')
end

local replies = {}
for i = 1, requests do
	local rk = KEYS[FIRST_ITEM_KEY + 2 * (i - 1)]
	local hk = KEYS[FIRST_ITEM_KEY + 2 * (i - 1) + 1]
	local arg = FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1)
	local action, rejectReason, after = applyTransition(rk, hk, ARGV[arg], {
		kind = ARGV[arg + 1],
		claimToken = nullable(ARGV[arg + 2]),
		verifyClaim = ARGV[arg + 3] == '1',
		force = ARGV[arg + 4] == '1',
		resultJson = nullable(ARGV[arg + 5]),
		errorMessage = nullable(ARGV[arg + 6]),
		retentionMs = duration(ARGV[arg + 7], 'retentionMs'),
	}, now, actor, nil)

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
		-- The record as the script left it: no need to read it back.
		recordAfter = {}
		for field, value in pairs(after) do
			recordAfter[#recordAfter + 1] = field
			recordAfter[#recordAfter + 1] = value
		end
	end
	replies[i] = { applied, noop, rejectReason or false, recordAfter }
end
pruneFreed(now, 50 + 2 * requests)
flushCounts()
return replies
