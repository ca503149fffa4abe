// Loads the Lua scripts under lua/ (copied next to the compiled module by the gulpfile) and
// defines them on an ioredis client, which runs them by EVALSHA and falls back to EVAL once.
// A line `--@include "name.lua"` is replaced by lua/includes/name.lua, so the record, index and
// counter helpers are written once and shared by the scripts.

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
	'record_exceptions',
	'resolve_exception',
	'restore',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Script source with its includes expanded. */
export function loadScript(name: ScriptName): string {
	const source = readFileSync(join(LUA_DIR, `${name}.lua`), 'utf8');
	return source.replace(INCLUDE, (_line, include: string) =>
		readFileSync(join(LUA_DIR, 'includes', include), 'utf8'),
	);
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
		runners[name] = (keys, args) => {
			const run = (client as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[command];
			return run.call(client, keys.length, ...keys, ...args);
		};
	}
	return runners;
}
