// Brings the configured schema up to this code's version, in one transaction under an advisory
// lock keyed on the schema, so several n8n processes starting at once do the work exactly once;
// the others wait, then find nothing left to do. Two steps:
// 1. The versioned, append-only migrations in migrations/: tables, columns, indexes, backfills,
//    and the drop of a function whose signature or result type changed. Recorded by version.
// 2. The functions in functions/, each defined once in its latest form and applied with
//    CREATE OR REPLACE after the migrations. Applied only when the set changed: a hash of it is
//    recorded in schema_functions, so an unchanged start costs one SELECT. A function removed
//    from functions/ is dropped by a migration.

import { createHash } from 'crypto';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { quoteIdentifier } from '../identifiers';
import type { Query, SqlExecutor } from './executor';

const MIGRATIONS_DIR = join(__dirname, 'migrations');
const FUNCTIONS_DIR = join(__dirname, 'functions');

export interface Migration {
	version: number;
	name: string;
	sql: string;
}

export interface FunctionSet {
	/** Of the files' names and text as shipped, before the schema is put in: the same for every schema. */
	hash: string;
	files: Array<{ name: string; sql: string }>;
}

const inSchema = (text: string, schema: string) => text.split('{{schema}}').join(quoteIdentifier(schema));

export function loadMigrations(schema: string): Migration[] {
	return readdirSync(MIGRATIONS_DIR)
		.filter((file) => /^\d{3}_.+\.sql$/.test(file))
		.sort()
		.map((file) => ({
			version: Number(file.slice(0, 3)),
			name: file.replace(/\.sql$/, ''),
			sql: inSchema(readFileSync(join(MIGRATIONS_DIR, file), 'utf8'), schema),
		}));
}

export function loadFunctions(schema: string): FunctionSet {
	const hash = createHash('sha256');
	const files = readdirSync(FUNCTIONS_DIR)
		.filter((file) => file.endsWith('.sql'))
		.sort()
		.map((file) => {
			const text = readFileSync(join(FUNCTIONS_DIR, file), 'utf8');
			hash.update(`${file}\0${text}\0`);
			return { name: file.replace(/\.sql$/, ''), sql: inSchema(text, schema) };
		});
	return { hash: hash.digest('hex'), files };
}

export async function migrate(executor: SqlExecutor, schema: string): Promise<number[]> {
	const quoted = quoteIdentifier(schema);
	const migrations = loadMigrations(schema);
	const functions = loadFunctions(schema);
	const latest = Math.max(0, ...migrations.map((migration) => migration.version));
	return executor.transaction(async (query) => {
		await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`n8n-nodes-idempotency:${schema}`]);
		// One round trip: a script of statements that do nothing once the tables exist.
		await query(
			`CREATE SCHEMA IF NOT EXISTS ${quoted};
			CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
				version integer PRIMARY KEY,
				name text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
			);
			CREATE TABLE IF NOT EXISTS ${quoted}.schema_functions (
				id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
				hash text NOT NULL,
				schema_version integer NOT NULL,
				applied_at timestamptz NOT NULL
			)`,
		);
		const rows = await query<{ version: number }>(`SELECT version FROM ${quoted}.schema_migrations`);
		const applied = new Set(rows.map((row) => Number(row.version)));
		const done: number[] = [];
		for (const migration of migrations) {
			if (applied.has(migration.version)) continue;
			await query(migration.sql);
			await query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
			done.push(migration.version);
		}
		await applyFunctions(query, quoted, functions, latest, done.length > 0);
		return done;
	});
}

// One row per application of a set: its hash and the last migration of the code that applied it
// (the newest row is the one with the highest id — not by time, which a clock step could reorder).
// Code of an older or the same schema version (a process not yet upgraded, restarting during a
// rolling upgrade) never puts its functions back over the set of a version at least as new: each
// schema version has exactly one function set, because a change in functions/ comes with a
// migration (test/store/postgres/postgresUpgrade.test.ts pins the set's hash to the latest migration).
async function applyFunctions(query: Query, quoted: string, functions: FunctionSet, latest: number, migrated: boolean): Promise<void> {
	if (!migrated) {
		const [last] = await query<{ hash: string; schema_version: number }>(
			`SELECT hash, schema_version FROM ${quoted}.schema_functions ORDER BY id DESC LIMIT 1`,
		);
		if (last && (last.hash === functions.hash || Number(last.schema_version) >= latest)) return;
	}
	for (const file of functions.files) await query(file.sql);
	await query(`INSERT INTO ${quoted}.schema_functions (hash, schema_version, applied_at) VALUES ($1, $2, clock_timestamp())`, [functions.hash, latest]);
}
