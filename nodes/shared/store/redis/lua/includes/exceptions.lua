-- The Exception Router's queue (keys.ts): a key's exceptions are JSON values in one hash, by
-- uuid; its open ones are named in a second hash, by reason (at most one open per reason); the
-- namespace's open ones are in OPEN_EXCEPTIONS (common.lua). Needs common.lua first.
--
-- An exception's JSON has the fields of ExceptionRecord; null fields are left out, and times are
-- integer strings (cjson writes numbers with 14 significant digits only).

local function uuidOf(id)
	return string.sub(id, 1, 36)
end

local function loadException(xk, uuid)
	local json = redis.call('HGET', xk, uuid)
	if not json then
		return nil
	end
	return cjson.decode(json)
end

-- Stores the exception and returns its JSON.
local function saveException(xk, exception)
	local json = cjson.encode(exception)
	redis.call('HSET', xk, uuidOf(exception.id), json)
	return json
end

local function expectExceptionKeys(xk, xok)
	expectType(xk, 'hash')
	expectType(xok, 'hash')
end

-- The keys of record_exceptions.lua and unrecord_exceptions.lua: the namespace's (common.lua),
-- then three per request, then the namespace's exceptions by lastSeenAt (the trigger's feed).
-- Checks the namespace's and the feed's; returns the feed and the number of requests.
local function exceptionRequests()
	local seen = KEYS[#KEYS]
	expectNamespaceKeys()
	expectType(seen, 'zset')
	return seen, (#KEYS - FIRST_ITEM_KEY) / 3
end

-- Request i's keys: every exception of its key, the key's open exceptions, and where an
-- exception names its key (xid:<uuid>).
local function requestKeys(i)
	local k = FIRST_ITEM_KEY + 3 * (i - 1)
	return KEYS[k], KEYS[k + 1], KEYS[k + 2]
end

-- Checks request i's keys before anything is written (see expectType) and returns them.
local function expectRequestKeys(i)
	local xk, xok, idk = requestKeys(i)
	expectExceptionKeys(xk, xok)
	expectType(idk, 'string')
	return xk, xok, idk
end
