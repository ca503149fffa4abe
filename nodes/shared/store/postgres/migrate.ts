// Applies the versioned, append-only migrations in migrations/ to the configured schema. Runs in
// one transaction under an advisory lock keyed on the schema, so several n8n processes starting
// at once apply each migration exactly once; the others wait, then find nothing left to do.

import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { quoteIdentifier } from '../identifiers';
import type { SqlExecutor } from './executor';

const MIGRATIONS_DIR = join(__dirname, 'migrations');

export interface Migration {
	version: number;
	name: string;
	sql: string;
}

export function loadMigrations(schema: string): Migration[] {
	const quoted = quoteIdentifier(schema);
	return readdirSync(MIGRATIONS_DIR)
		.filter((file) => /^\d{3}_.+\.sql$/.test(file))
		.sort()
		.map((file) => ({
			version: Number(file.slice(0, 3)),
			name: file.replace(/\.sql$/, ''),
			sql: readFileSync(join(MIGRATIONS_DIR, file), 'utf8').split('{{schema}}').join(quoted),
		}));
}

export async function migrate(executor: SqlExecutor, schema: string): Promise<number[]> {
	const quoted = quoteIdentifier(schema);
	const migrations = loadMigrations(schema);
	return executor.transaction(async (query) => {
		await query('SELECT pg_advisory_xact_lock(hashtext($1))', [`n8n-nodes-idempotency:${schema}`]);
		await query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
		await query(
			`CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
				version integer PRIMARY KEY,
				name text NOT NULL,
				applied_at timestamptz NOT NULL DEFAULT now()
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
		return done;
	});
}
