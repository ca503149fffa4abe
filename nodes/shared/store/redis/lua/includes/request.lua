-- Wraps every writing script (scripts.ts puts the script's own text at the `--@body` line): a
-- script runs at most once per request. The caller appends one key to KEYS, in the namespace's
-- hash tag: <prefix>{<ns>}:q:<request id>, fresh for every call. When a reply is lost, ioredis
-- re-sends the same call after it reconnected (autoResendUnfulfilledCommands); the re-sent call
-- finds what the first run kept under that key and answers from it without running again, so a
-- claim is not decided twice, a release that applied is not rejected, an exception is counted once.
--
-- What is kept: the whole reply, unless the body returns a second value, a short account of what
-- it did (transition.lua: applied / no-op / rejection per request, not every record after). Then
-- a re-sent call runs the body with REPLAY set to that account, and the body answers from it and
-- what it reads, writing nothing: a body that returns a second value must do so when REPLAY is set.
-- (A re-sent call runs the same script text as the first run: ioredis re-sends the same EVALSHA.)
--
-- It is kept REQUEST_TTL_MS (60 s: four times the 15 s command timeout, after which ioredis gives
-- the call up instead of re-sending it; replies carry stored results and can be large on a Redis
-- that must not evict, so they are not kept longer than a re-send can come). A script that fails
-- has written nothing (each checks its input before its first write), so nothing is kept and a
-- re-sent call fails the same way.

local REQUEST_KEY = table.remove(KEYS)
local REQUEST_TTL_MS = 60000

local REPLAY = nil
local kept = redis.call('GET', REQUEST_KEY)
if kept then
	local first = cmsgpack.unpack(kept)
	if first[1] == 'reply' then
		return first[2]
	end
	REPLAY = first[2]
end

local reply, account = (function()
--@body
end)()

-- An idle namespace's keys do not outlive its records forever. The record indexes (KEYS[1..7]:
-- every key, by state, leases, expiries) expire when the last record in them does: while every
-- record is settled with a retention (as many in the expiry index as in the key index), they get
-- the TTL the longest-lived record has (expiresAt + a day's grace, record.lua) plus an hour; while
-- any record lives on (a claim, a received key, a retention of 0), they are kept. The hourly
-- counters (KEYS[8..9]) are kept 100 days (counters.lua) after the last write that counted.
-- Refreshed by every writing call, so only a namespace nobody writes to expires.
local function tidyNamespace()
	if not (string.sub(KEYS[1], -6) == 'i:keys' and string.sub(KEYS[7], -9) == 'i:expires') then
		return
	end
	local records = redis.call('ZCARD', KEYS[1])
	if records > 0 then
		local last = redis.call('ZRANGE', KEYS[7], -1, -1, 'WITHSCORES')
		local time = redis.call('TIME')
		local ttl = 0
		if last[2] and redis.call('ZCARD', KEYS[7]) == records then
			ttl = tonumber(last[2]) + 25 * 3600000 - (tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
		end
		for i = 1, 7 do
			if ttl > 0 then
				redis.call('PEXPIRE', KEYS[i], string.format('%.0f', ttl))
			else
				redis.call('PERSIST', KEYS[i])
			end
		end
	end
	redis.call('PEXPIRE', KEYS[8], 101 * 24 * 3600000)
	redis.call('PEXPIRE', KEYS[9], 101 * 24 * 3600000)
end

if REPLAY == nil then
	tidyNamespace()
	if account ~= nil then
		redis.call('SET', REQUEST_KEY, cmsgpack.pack({ 'account', account }), 'PX', REQUEST_TTL_MS)
	else
		redis.call('SET', REQUEST_KEY, cmsgpack.pack({ 'reply', reply }), 'PX', REQUEST_TTL_MS)
	end
end
return reply
