--[[
Claim: decides a chunk of claims of one namespace atomically (the Guard's decision table, docs/CONTRACT.md §5).
It mirrors nodes/shared/engine/model/decideClaim.ts rule for rule; every decision but a wait poll appends one
history event, followed by the in-batch repeats the Guard decided (duplicate_in_batch). A
duplicate joins the run of duplicates at the end of the key's history (includes/record.lua), so
a retry storm adds one entry, not one per delivery. Keys are decided in order, so a key repeated
in the chunk sees its own claim.

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 2(i-1)] record hash of item i
KEYS[12 + 2(i-1)] history list of item i

ARGV[1]  now, epoch ms ('' = Redis TIME)
ARGV[2]  leaseMs             ARGV[3] retentionMs (0 = forever)
ARGV[4]  onInProgress        ambiguous | duplicate | pending
ARGV[5]  onLeaseExpired      ambiguous | reclaim
ARGV[6]  onFailed            retry | ambiguous
ARGV[7]  maxAttempts
ARGV[8]  onPayloadMismatch   ambiguous | duplicate
ARGV[9..11] actor: workflowId, executionId, node (nullable: 'n' = null, 's' .. text)
ARGV[12 + 3(i-1)] key of item i
ARGV[13 + 3(i-1)] a fresh claim token, used only when item i's outcome is new
ARGV[14 + 3(i-1)] fingerprint of item i (nullable), after `r<same>,<other>,` when the input has
                  later items with this key (history only): <same> with the same fingerprint,
                  <other> with another; without the prefix both are 0

Returns `now`, then one answer per item, in order (codec.ts toClaimDecision reads them; the caller
knows the token it sent, so a new claim's token is not sent back):
  { code, attempt, firstSeenAt, lastSeenAt, leaseUntil | nil, resultJson | nil, prior | nil }
  code: three letters, the outcome, reason and state (OUTCOME_CODE, REASON_CODE, STATE_CODE)
  A key that had no record is answered by the code alone (FRESH): new, first_seen, processing,
  attempt 1, first and last seen now, leased until now + leaseMs, no result, no prior record.
  prior: when the outcome is new and the key had a record, that record as a JSON object (its hash
  fields), so that a failed input can put it back exactly (restore.lua).
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"

local now = clock(ARGV[1])
local leaseMs = duration(ARGV[2], 'leaseMs')
local retentionMs = duration(ARGV[3], 'retentionMs')
local onInProgress = ARGV[4]
local onLeaseExpired = ARGV[5]
local onFailed = ARGV[6]
local maxAttempts = count(ARGV[7], 'maxAttempts')
local onPayloadMismatch = ARGV[8]
local actor = readActor(9)
local FIRST_ITEM_ARG = 12
local ARGS_PER_ITEM = 3
local items = (#KEYS - FIRST_ITEM_KEY + 1) / 2

-- engine/model/decideClaim.ts decide(): returns outcome, reason, effect.
local function decide(record, fingerprint)
	if record == nil or isExpired(record, now) then
		return 'new', 'first_seen', 'create'
	end
	if fingerprint ~= nil and record.fingerprint ~= nil and fingerprint ~= record.fingerprint then
		return onPayloadMismatch, 'payload_mismatch', 'seen'
	end
	local state = record.state
	if state == 'received' then
		return 'new', 'first_seen', 'claim'
	end
	if state == 'processing' then
		local leaseUntil = tonumber(record.leaseUntil)
		if leaseUntil ~= nil and leaseUntil > now then
			if onInProgress == 'pending' then
				return 'pending', 'in_progress', 'none'
			end
			return onInProgress, 'in_progress', 'seen'
		end
		if onLeaseExpired == 'reclaim' then
			return 'new', 'reclaimed', 'claim'
		end
		return 'ambiguous', 'lease_expired', 'seen'
	end
	if state == 'processed' then
		return 'duplicate', 'already_processed', 'seen'
	end
	-- failed
	if tonumber(record.attempt) >= maxAttempts then
		return 'ambiguous', 'max_attempts', 'seen'
	end
	if onFailed == 'retry' then
		return 'new', 'retry_after_failure', 'claim'
	end
	return 'ambiguous', 'previously_failed', 'seen'
end

-- engine/model/decideClaim.ts historyEventFor()
local function historyEvent(outcome, reason)
	if outcome == 'new' then
		if reason == 'reclaimed' then
			return 'reclaimed'
		end
		return 'claimed'
	end
	if outcome == 'duplicate' then
		return 'duplicate_seen'
	end
	return 'ambiguous_seen'
end

-- An item's fingerprint argument: fingerprint (nil for null), repeats with the same fingerprint,
-- repeats with another; an error when it is none of the forms above.
local function itemSpec(arg)
	local same, other = 0, 0
	if string.sub(arg, 1, 1) == 'r' then
		local s, o, rest = string.match(arg, '^r(%d+),(%d+),(.*)$')
		if rest == nil then
			error({ err = 'ERR idempotency repeat count must be a whole number' })
		end
		same, other, arg = count(s, 'repeat count'), count(o, 'repeat count'), rest
	end
	local kind = string.sub(arg, 1, 1)
	if kind == 'n' and #arg == 1 then
		return nil, same, other
	end
	if kind ~= 's' then
		error({ err = 'ERR idempotency fingerprint argument is not nullable text' })
	end
	return string.sub(arg, 2), same, other
end

-- Everything that can fail is checked before the first write.
expectNamespaceKeys()
for i = 1, items do
	local rk, hk = itemKeys(i)
	lastEntries[hk] = expectItemKeys(rk, hk, true)
	itemSpec(ARGV[FIRST_ITEM_ARG + ARGS_PER_ITEM * (i - 1) + 2] or '')
end

local OUTCOME_CODE = { new = 'n', duplicate = 'd', ambiguous = 'a', pending = 'p' }
local nowText = int(now)
local leaseText = int(now + leaseMs)

local replies = { now }
-- The answer for a key that had no record: claimed fresh, all else follows from now and leaseMs.
local FRESH = OUTCOME_CODE.new .. REASON_CODE.first_seen .. STATE_CODE.processing
for i = 1, items do
	local rk, hk = itemKeys(i)
	local arg = FIRST_ITEM_ARG + ARGS_PER_ITEM * (i - 1)
	local key = ARGV[arg]
	local token = ARGV[arg + 1]
	local fingerprint, repeatedSame, repeatedOther = itemSpec(ARGV[arg + 2])

	local record = loadRecord(rk)
	local outcome, reason, effect = decide(record, fingerprint)
	local after = record

	if effect == 'create' then
		-- A fresh life: an expired record is replaced whole; its history stays. (Index entries of a
		-- life Redis freed by TTL are dropped by reindex.)
		if record then
			redis.call('DEL', rk)
		end
		-- Written directly, not through patchRecord: every field is known (record.lua's layout).
		local set = { 's', 'c', 'a', '1', 't', token, 'f', nowText, 'l', nowText, 'u', nowText, 'p', leaseText, 'n', int(retentionMs) }
		if fingerprint then
			set[#set + 1] = 'g'
			set[#set + 1] = fingerprint
		end
		if actor.workflowId then
			set[#set + 1] = 'w'
			set[#set + 1] = actor.workflowId
		end
		if actor.executionId then
			set[#set + 1] = 'i'
			set[#set + 1] = actor.executionId
		end
		redis.call('HSET', rk, unpack(set))
		longLayout[rk] = nil
		after = { state = 'processing', attempt = '1', firstSeenAt = nowText, lastSeenAt = nowText, updatedAt = nowText, leaseUntil = leaseText }
		reindex(key, record, after)
		if lastEntries[hk] ~= false then
			-- The history of an earlier life has the TTL that life set.
			redis.call('PERSIST', hk)
		end
	elseif effect == 'claim' then
		after = patchRecord(rk, record, {
			state = 'processing',
			attempt = tonumber(record.attempt) + 1,
			claimToken = token,
			fingerprint = record.fingerprint or fingerprint or false,
			lastSeenAt = now,
			updatedAt = now,
			leaseUntil = now + leaseMs,
			expiresAt = false,
			retentionMs = retentionMs,
			workflowId = actor.workflowId or false,
			executionId = actor.executionId or false,
		})
		reindex(key, record, after)
		redis.call('PERSIST', rk)
		redis.call('PERSIST', hk)
	elseif effect == 'seen' then
		local patch = { lastSeenAt = nowText }
		if outcome == 'duplicate' then
			patch.duplicateCount = int((tonumber(record.duplicateCount) or 0) + 1)
		end
		if longLayout[rk] then
			after = patchRecord(rk, record, patch)
		else
			-- Only these fields change, and the record before is not needed again: written as they
			-- are and set on the record itself (no copy of it).
			if patch.duplicateCount then
				redis.call('HSET', rk, 'l', nowText, 'd', patch.duplicateCount)
				record.duplicateCount = patch.duplicateCount
			else
				redis.call('HSET', rk, 'l', nowText)
			end
			record.lastSeenAt = nowText
			after = record
		end
	end

	if effect ~= 'none' then
		recordEvent(hk, now, historyEvent(outcome, reason), reason, actor, nil)
	end
	if repeatedSame > 0 then
		recordEvent(hk, now, 'duplicate_seen', 'duplicate_in_batch', actor, nil, repeatedSame)
	end
	for _ = 1, repeatedOther do
		recordEvent(hk, now, 'ambiguous_seen', 'duplicate_in_batch', actor, nil)
	end

	if effect == 'create' and not record then
		replies[i + 1] = FRESH
	else
		local prior = false
		if outcome == 'new' and record then
			prior = cjson.encode(record)
		end
		replies[i + 1] = {
			OUTCOME_CODE[outcome] .. REASON_CODE[reason] .. STATE_CODE[after.state],
			tonumber(after.attempt),
			tonumber(after.firstSeenAt),
			tonumber(after.lastSeenAt),
			tonumber(after.leaseUntil) or false,
			after.result or false,
			prior,
		}
	end
end
pruneFreed(now, 50 + 2 * items)
flushCounts()
return replies
