--[[
Record exceptions: opens exceptions of one namespace, or counts repeats on the open one of the
same (key, reason), atomically (docs/CONTRACT.md §7; the Postgres twin is sql/record_exceptions.sql). At most
one exception is open per (namespace, key, reason): a repeat adds its occurrences, sets
lastSeenAt and the latest workflowId / executionId; owner, severity and route stay the first
ones. After a resolution the same (key, reason) opens a new exception. A request grouped by key
(groupBy = key, docs/CONTRACT.md §12) does the same per (namespace, key): its open incident is named under the
field '' of the key's open exceptions, and reasons it has not had yet are appended to `reasons`.
Every exception recorded is (re)scored by lastSeenAt in the feed index (the trigger's).
An exception opened is counted in its hour's `opened` counter (includes/counters.lua, the report).

KEYS[1..10]       the namespace's indexes and stats (see includes/common.lua)
KEYS[11 + 3(i-1)] every exception of request i's key (hash uuid -> JSON)
KEYS[12 + 3(i-1)] the open exceptions of that key (hash reason -> uuid)
KEYS[13 + 3(i-1)] where a new exception of request i would name its key (string, xid:<uuid>)
KEYS[#KEYS]       the namespace's exceptions by lastSeenAt (zset, the trigger's feed)

ARGV[1]  now, epoch ms ('' = Redis TIME)
ARGV[2]  namespace
ARGV[3..5] actor: workflowId, executionId, node (nullable: 'n' = null, 's' .. text)
ARGV[6 + 9(i-1)] .. ARGV[14 + 9(i-1)], request i (distinct per (key, reason), or per key):
  key, reason, owner, severity, route, occurrences it adds (>= 1),
  a fresh exception id `<uuid>.<tag>` (used only when request i opens an exception),
  grouping ('keyAndReason' | 'key'), its reasons as a JSON array (first seen first)

Returns for each request, in order, { the exception after the change as JSON, the open exception
it counted on as JSON before the change | nil when it opened one }: what unrecord_exceptions.lua
needs to take this call back.
]]

--@include "common.lua"
--@include "counters.lua"
--@include "record.lua"
--@include "exceptions.lua"

local now = clock(ARGV[1])
local namespace = ARGV[2]
local actor = readActor(3)
local FIRST_REQUEST_ARG = 6
local ARGS_PER_REQUEST = 9
local SEEN_EXCEPTIONS, requests = exceptionRequests()
for i = 1, requests do
	local xk, xok = expectRequestKeys(i)
	-- Checked before the first write: the count, the grouping, the reasons' JSON, and that the
	-- open exception's JSON decodes.
	local arg = FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1)
	count(ARGV[arg + 5], 'occurrences')
	local grouping = ARGV[arg + 7]
	if grouping ~= 'key' and grouping ~= 'keyAndReason' then
		error('grouping must be key or keyAndReason, got ' .. tostring(grouping))
	end
	local ok, reasons = pcall(cjson.decode, ARGV[arg + 8])
	if not ok or type(reasons) ~= 'table' then
		error('reasons must be a JSON array of reason codes')
	end
	local field = ARGV[arg + 1]
	if grouping == 'key' then
		field = ''
	end
	local openUuid = redis.call('HGET', xok, field)
	if openUuid then
		loadException(xk, openUuid)
	end
end

local replies = {}
for i = 1, requests do
	local xk, xok, idk = requestKeys(i)
	local arg = FIRST_REQUEST_ARG + ARGS_PER_REQUEST * (i - 1)
	local key = ARGV[arg]
	local reason = ARGV[arg + 1]
	local occurrences = tonumber(ARGV[arg + 5])
	local grouping = ARGV[arg + 7]
	local reasons = cjson.decode(ARGV[arg + 8])
	local field = reason
	if grouping == 'key' then
		field = ''
	end

	local openUuid = redis.call('HGET', xok, field)
	local prior = openUuid and redis.call('HGET', xk, openUuid) or false
	local exception = prior and cjson.decode(prior)
	if exception and exception.status ~= 'open' then
		exception, prior = nil, false
	end
	if exception then
		if grouping == 'key' then
			local known = {}
			for _, r in ipairs(exception.reasons) do
				known[r] = true
			end
			for _, r in ipairs(reasons) do
				if not known[r] then
					exception.reasons[#exception.reasons + 1] = r
					known[r] = true
				end
			end
		end
		exception.occurrences = exception.occurrences + occurrences
		exception.lastSeenAt = int(now)
		exception.workflowId = actor.workflowId
		exception.executionId = actor.executionId
	else
		local id = ARGV[arg + 6]
		exception = {
			id = id,
			namespace = namespace,
			key = key,
			reason = reason,
			owner = ARGV[arg + 2],
			severity = ARGV[arg + 3],
			route = ARGV[arg + 4],
			status = 'open',
			reasons = reasons,
			groupBy = grouping,
			occurrences = occurrences,
			firstSeenAt = int(now),
			lastSeenAt = int(now),
			workflowId = actor.workflowId,
			executionId = actor.executionId,
		}
		redis.call('SET', idk, key)
		redis.call('HSET', xok, field, uuidOf(id))
		redis.call('ZADD', OPEN_EXCEPTIONS, int(now), uuidOf(id))
		countEvent(now, 'exception_opened')
	end
	redis.call('ZADD', SEEN_EXCEPTIONS, int(now), uuidOf(exception.id))
	replies[i] = { saveException(xk, exception), prior }
end
flushCounts()
return replies
