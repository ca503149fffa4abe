// The one-letter codes the Redis layout is written in exist twice: in the Lua scripts that write
// them (record hash fields, states, history events and reasons in includes/record.lua; claim
// outcomes in claim.lua; transition kinds in transition.lua) and in redis/codec.ts, which reads
// them back. A letter changed on one side only would mis-read every record and history entry
// written since; this reads the Lua tables out of the scripts' text and holds both to each other.

import { readFileSync } from 'fs';
import { join } from 'path';
import {
	EVENT_OF_CODE,
	KIND_CODE,
	NAME_OF_FIELD,
	OUTCOME_OF_CODE,
	REASON_OF_CODE,
	STATE_OF_CODE,
} from '../../nodes/shared/store/redis/codec';
import { HistoryEvent, RECORD_STATES, Reason, TRANSITION_KINDS } from '../../nodes/shared/store/types';

const LUA = join(__dirname, '../../nodes/shared/store/redis/lua');

/** `local NAME = { a = 'x', … }` of a script, as an object: the flat tables of one-letter codes. */
export function luaTable(script: string, name: string): Record<string, string> {
	const text = readFileSync(join(LUA, script), 'utf8');
	const found = new RegExp(`^local ${name} = \\{([^}]*)\\}`, 'm').exec(text);
	if (!found) throw new Error(`${script} has no table ${name}`);
	const table: Record<string, string> = {};
	for (const [, key, value] of found[1].matchAll(/([A-Za-z_]\w*)\s*=\s*'([^']*)'/g)) table[key] = value;
	return table;
}

const inverse = (table: Record<string, string>): Record<string, string> =>
	Object.fromEntries(Object.entries(table).map(([key, value]) => [value, key]));

/** Each name with its code: [name, code] pairs, sorted, so a difference shows which one differs. */
const pairs = (byName: Record<string, string>) => Object.entries(byName).sort(([a], [b]) => a.localeCompare(b));

describe('the one-letter codes of the Redis layout', () => {
	it('record hash fields: record.lua FIELD = codec.ts NAME_OF_FIELD', () => {
		const lua = luaTable('includes/record.lua', 'FIELD');
		expect(pairs(lua)).toEqual(pairs(inverse(NAME_OF_FIELD)));
		expect(new Set(Object.values(lua)).size).toBe(Object.keys(lua).length);
	});

	it('record states: record.lua STATE_CODE and STATE_OF_CODE = codec.ts STATE_OF_CODE, one letter for every state', () => {
		const lua = luaTable('includes/record.lua', 'STATE_CODE');
		expect(pairs(lua)).toEqual(pairs(inverse(STATE_OF_CODE)));
		expect(pairs(inverse(luaTable('includes/record.lua', 'STATE_OF_CODE')))).toEqual(pairs(lua));
		expect(Object.keys(lua).sort()).toEqual([...RECORD_STATES].sort());
	});

	it('history events: record.lua EVENT_CODE = codec.ts EVENT_OF_CODE, one letter for every event', () => {
		const lua = luaTable('includes/record.lua', 'EVENT_CODE');
		expect(pairs(lua)).toEqual(pairs(inverse(EVENT_OF_CODE)));
		expect(Object.keys(lua).sort()).toEqual(Object.values(HistoryEvent).sort());
	});

	it('history reasons: record.lua REASON_CODE = codec.ts REASON_OF_CODE, each letter once', () => {
		const lua = luaTable('includes/record.lua', 'REASON_CODE');
		expect(pairs(lua)).toEqual(pairs(inverse(REASON_OF_CODE)));
		expect(new Set(Object.values(lua)).size).toBe(Object.keys(lua).length);
		// Every Guard reason a claim script writes has a letter. The Guard decides missing_key,
		// store_unavailable and legacy_key without the store, and the Redis store not_replicated
		// after the script (its wait for replicas): no script writes those.
		const nodeOnly = new Set<string>([Reason.missingKey, Reason.storeUnavailable, Reason.legacyKey, Reason.notReplicated]);
		for (const reason of Object.values(Reason).filter((r) => !nodeOnly.has(r))) expect(lua).toHaveProperty(reason);
	});

	it('claim outcomes: claim.lua OUTCOME_CODE = codec.ts OUTCOME_OF_CODE', () => {
		expect(pairs(luaTable('claim.lua', 'OUTCOME_CODE'))).toEqual(pairs(inverse(OUTCOME_OF_CODE)));
	});

	it('transition kinds: transition.lua KIND_OF_CODE = codec.ts KIND_CODE, one letter for every kind', () => {
		expect(pairs(inverse(luaTable('transition.lua', 'KIND_OF_CODE')))).toEqual(pairs(KIND_CODE));
		expect(Object.keys(KIND_CODE).sort()).toEqual([...TRANSITION_KINDS].sort());
	});

	it('reads a table as the script spells it (the reader itself)', () => {
		expect(luaTable('claim.lua', 'OUTCOME_CODE')).toEqual({ new: 'n', duplicate: 'd', ambiguous: 'a', pending: 'p' });
		expect(() => luaTable('claim.lua', 'NO_SUCH_TABLE')).toThrow(/no table NO_SUCH_TABLE/);
	});
});
