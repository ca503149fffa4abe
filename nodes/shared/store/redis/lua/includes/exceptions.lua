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
