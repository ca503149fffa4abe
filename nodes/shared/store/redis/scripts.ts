// Loads the Lua scripts under lua/ (copied next to the compiled module by the gulpfile) and
// defines them on an ioredis client, which runs them by EVALSHA and falls back to EVAL once.
// A line `--@include "name.lua"` is replaced by lua/includes/name.lua, so the record, index and
// counter helpers are written once and shared by the scripts.
//
// Every script but the read-only ones runs inside lua/includes/request.lua: its runner appends a
// fresh request key (`<prefix>{<ns>}:q:<uuid>`, next to KEYS[1], the namespace's key index) to
// the keys, and a call that ioredis re-sends after a lost reply gets the first run's reply. A new
// writing script needs nothing more than its name in SCRIPT_NAMES and KEYS[1] = that index.

import { randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { Cluster, Redis } from 'ioredis';

const LUA_DIR = join(__dirname, 'lua');
const INCLUDE = /^--@include "([A-Za-z0-9_.-]+\.lua)"\s*$/gm;

export const SCRIPT_NAMES = [
	'claim',
	'transition',
	'purge',
	'forget',
	'stats',
	'report',
	'record_exceptions',
	'unrecord_exceptions',
	'resolve_exception',
	'restore',
	'layout',
	'not_replicated',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/**
 * Scripts run as they are, without a request key: those that write nothing, and layout, whose
 * second run returns what the first decided (its KEYS[1] is a marker, not the key index).
 */
export const READ_ONLY_SCRIPTS: ReadonlySet<ScriptName> = new Set<ScriptName>(['stats', 'report', 'layout']);

const BODY = /^--@body\s*$/m;
const KEYS_INDEX_SUFFIX = 'i:keys';

function expandIncludes(source: string): string {
	return source.replace(INCLUDE, (_line, include: string) =>
		readFileSync(join(LUA_DIR, 'includes', include), 'utf8'),
	);
}

/** Script source with its includes expanded, inside the request wrapper when it writes. */
export function loadScript(name: ScriptName): string {
	const body = expandIncludes(readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8'));
	if (READ_ONLY_SCRIPTS.has(name)) return body;
	const wrapper = readFileSync(join(LUA_DIR, 'includes', 'request.lua'), 'utf8');
	return wrapper.replace(BODY, () => body);
}

/** A fresh request key in the namespace of `keysIndex` (KEYS[1] of every namespace script). */
export function requestKey(keysIndex: string): string {
	if (!keysIndex.endsWith(KEYS_INDEX_SUFFIX)) {
		throw new Error(`A writing script needs the namespace's key index as KEYS[1], got ${keysIndex}`);
	}
	return `${keysIndex.slice(0, -KEYS_INDEX_SUFFIX.length)}q:${randomUUID()}`;
}

let sources: Record<ScriptName, string> | null = null;

function allSources(): Record<ScriptName, string> {
	if (!sources) {
		sources = Object.fromEntries(SCRIPT_NAMES.map((name) => [name, loadScript(name)])) as Record<
			ScriptName,
			string
		>;
	}
	return sources;
}

export type ScriptArg = string | number | Buffer;
export type ScriptRunner = (keys: string[], args: ScriptArg[]) => Promise<unknown>;

// Prefixed so that scripts defined on a client the caller shares with us do not clash.
const commandName = (name: ScriptName) => `idempotency_${name}`;

/** Defines every script on the client and returns one runner per script. */
export function defineScripts(client: Redis | Cluster): Record<ScriptName, ScriptRunner> {
	const runners = {} as Record<ScriptName, ScriptRunner>;
	const scripts = allSources();
	for (const name of SCRIPT_NAMES) {
		const command = commandName(name);
		client.defineCommand(command, { lua: scripts[name] });
		const writes = !READ_ONLY_SCRIPTS.has(name);
		runners[name] = (keys, args) => {
			const run = (client as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[command];
			const allKeys = writes ? [...keys, requestKey(keys[0])] : keys;
			return run.call(client, allKeys.length, ...allKeys, ...args);
		};
	}
	return runners;
}
