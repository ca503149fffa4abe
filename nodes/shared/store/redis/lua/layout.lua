--[[
Layout: which key layout a namespace has on a Redis Cluster (buckets.ts), decided once and kept
for good. A namespace that already holds data in the one-slot layout (written before buckets,
or by a store that does not spread) keeps that layout; one without data gets the layout asked
for. Run in the namespace's own slot, so the check and the decision are one step: two stores
deciding at once agree. Only a write decides a namespace without data: a read of one (a Ledger
get, a Trigger feed, a typo'd namespace) leaves no key and answers 'none'. A read of one-slot data
without a marker keeps the marker too, as a write would: the data has decided already.

KEYS[1]     the namespace's layout marker (string)
KEYS[2..]   the namespace's one-slot indexes, stats and exception feed (keys.ts); any of them
            existing means the namespace has data in the one-slot layout

ARGV[1]     the layout for a namespace without data: 'single' | 'buckets:<count>'
ARGV[2]     'write' (decide) | 'read'

Returns the namespace's layout, as the marker holds it; 'none' for a read of a namespace that has
neither a marker nor data (nothing written).
]]

local marker = redis.call('GET', KEYS[1])
if marker then
	return marker
end
local layout = ARGV[1]
if redis.call('EXISTS', unpack(KEYS, 2)) > 0 then
	layout = 'single'
elseif ARGV[2] ~= 'write' then
	return 'none'
end
redis.call('SET', KEYS[1], layout)
return layout
