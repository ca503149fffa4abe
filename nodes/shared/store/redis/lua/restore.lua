--[[
Restore: undoes claims of a failed input (the Guard's input is all or nothing). Each key whose
record is still `processing` with the claim's token gets back the record that claim found — the
`prior` claim.lua returned — field for field, with its indexes and the TTL a settled record had;
a key that had no record is deleted. A key someone changed since (another token, or settled) is
left alone. Each restored key's history gets a `released` event with reason `rollback`.
The Postgres twin is restore_claim() in migration 005.

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 2(i-1)] record hash of request i
KEYS[12 + 2(i-1)] history list of request i

ARGV[1]  now, epoch ms ('' = Redis TIME)
ARGV[2..4] actor: workflowId, executionId, node (nullable: 'n' = null, 's' .. text)
ARGV[5 + 3(i-1)] key of request i
ARGV[6 + 3(i-1)] the claim token of its claim
ARGV[7 + 3(i-1)] the prior record as a JSON object of hash fields, or '' when it had none

Returns one integer per request, in order: 1 restored, 0 left alone.
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"

local now = clock(ARGV[1])
local actor = readActor(2)
local FIRST_REQUEST_ARG = 5
local ARGS_PER_REQUEST = 3
local requests = (#KEYS - FIRST_ITEM_KEY + 1) / 2

-- Everything that can fail is checked before the first write.
expectNamespaceKeys()
local priors = {}
for i = 1, requests do
	expectItemKeys(itemKeys(i))
	local text = ARGV[FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1) + 2]
	if text ~= '' then
		local ok, image = pcall(cjson.decode, text)
		if not ok or type(image) ~= 'table' or not RECORD_STATES[image.state] then
			error({ err = 'ERR restore: the prior record of request ' .. i .. ' is not a record' })
		end
		priors[i] = image
	end
end

-- A settled record's keys expire at expiresAt + GRACE_MS (record.lua expireAfter); the rest never.
local function expireLike(key, image)
	local expiresAt = image and tonumber(image.expiresAt)
	if expiresAt then
		redis.call('PEXPIRE', key, math.max(1, int(expiresAt + GRACE_MS - now)))
	else
		redis.call('PERSIST', key)
	end
end

local replies = {}
for i = 1, requests do
	local rk, hk = itemKeys(i)
	local arg = FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1)
	local key = ARGV[arg]
	local token = ARGV[arg + 1]
	local image = priors[i]
	local record = loadRecord(rk)
	if record == nil or record.state ~= 'processing' or record.claimToken ~= token then
		replies[i] = 0
	else
		redis.call('DEL', rk)
		local after = nil
		if image then
			after = patchRecord(rk, nil, image)
		end
		reindex(key, record, after)
		recordEvent(hk, now, 'released', 'rollback', actor, { rollback = true, restoredState = (image and image.state) or cjson.null })
		if image then
			expireLike(rk, image)
			expireLike(hk, image)
		else
			-- As for a release: the history outlives the key by the retention its claim set.
			expireAfter(hk, tonumber(record.retentionMs) or 0)
		end
		replies[i] = 1
	end
end
flushCounts()
return replies
