-- Wraps every writing script (scripts.ts puts the script's own text at the `--@body` line): a
-- script runs at most once per request. The caller appends one key to KEYS, in the namespace's
-- hash tag: <prefix>{<ns>}:q:<request id>, fresh for every call. When a reply is lost, ioredis
-- re-sends the same call after it reconnected (autoResendUnfulfilledCommands); the re-sent call
-- finds the first run's reply under that key and returns it without running again, so a claim
-- is not decided twice, a release that applied is not rejected, an exception is counted once.
--
-- The reply is kept REQUEST_TTL_MS (60 s: four times the 15 s command timeout, after which ioredis
-- gives the call up instead of re-sending it; replies carry stored results and can be large on a
-- Redis that must not evict, so they are not kept longer than a re-send can come). A script that fails has written nothing (each checks its input before its first
-- write), so nothing is kept and a re-sent call fails the same way.

local REQUEST_KEY = table.remove(KEYS)
local REQUEST_TTL_MS = 60000

local firstReply = redis.call('GET', REQUEST_KEY)
if firstReply then
	return cmsgpack.unpack(firstReply)
end

local reply = (function()
--@body
end)()

redis.call('SET', REQUEST_KEY, cmsgpack.pack(reply), 'PX', REQUEST_TTL_MS)
return reply
