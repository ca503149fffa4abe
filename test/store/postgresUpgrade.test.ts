// A database filled by the code of schema version 006 upgrades in place (migrations 007, 008):
// its records and history stay readable — one-row-per-duplicate history reads as one run — its
// stats are carried into the hourly counters, and its keys go on being claimed and settled.

import { readFileSync } from 'fs';
import { join } from 'path';
import { Pool } from 'pg';
import { loadMigrations } from '../../nodes/shared/store/postgres/migrate';
import { dropSchema, POSTGRES_URL, postgresTestStore, sql, uniqueSchema } from '../helpers/postgres';
import { actor, basePolicy } from './conformance';

const OLD_SQL = join(__dirname, 'fixtures', 'postgres-006');
const oldStatement = (name: string, schema: string) => readFileSync(join(OLD_SQL, `${name}.sql`), 'utf8').split('{{schema}}').join(`"${schema}"`);

describe('Postgres schema 006 → current', () => {
	const schema = uniqueSchema('upgrade_006');
	const pool = new Pool({ connectionString: POSTGRES_URL, max: 1 });
	const T0 = Date.now() - (Date.now() % 3_600_000);
	afterAll(async () => {
		await pool.end();
		await dropSchema(schema);
	});

	const oldClaim = (key: string, at: number) =>
		pool.query(oldStatement('claim', schema), ['ns', [key], [null], at, 60_000, 86_400_000, 'ambiguous', 'ambiguous', 'retry', 3, 'ambiguous', 'wf-old', 'ex-old', 'Guard', [0], [0]]);
	const oldMarkProcessed = (key: string, token: string, at: number) =>
		pool.query(oldStatement('transition', schema), ['ns', [key], ['markProcessed'], [token], [true], [false], ['{"id":1}'], [null], [86_400_000], at, 'wf-old', 'ex-old', 'Ledger']);

	it('keeps the records and history written before, and goes on from them', async () => {
		await pool.query(`CREATE SCHEMA "${schema}"`);
		await pool.query(`CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
		for (const migration of loadMigrations(schema).filter((m) => m.version <= 6)) {
			await pool.query(migration.sql);
			await pool.query(`INSERT INTO "${schema}".schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
		}
		const a = (await oldClaim('a', T0)).rows[0];
		const b = (await oldClaim('b', T0)).rows[0];
		expect([a.decision, b.decision]).toEqual(['new:first_seen', 'new:first_seen']);
		await oldMarkProcessed('a', a.claim_token, T0 + 1);
		for (let i = 0; i < 3; i++) expect((await oldClaim('a', T0 + 2 + i)).rows[0].decision).toBe('duplicate:already_processed');
		expect((await sql(`SELECT count(*)::int AS n FROM "${schema}".history WHERE key = 'a' AND event = 'duplicate_seen'`))[0]).toEqual({ n: 3 });

		const store = postgresTestStore(schema, 2);
		try {
			expect((await store.health()).ok).toBe(true); // migrates
			const versions = await sql<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
			expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

			const runOf = async (key: string) =>
				(await store.history('ns', key)).map((h) => [h.event, h.reason, h.at, h.lastAt ?? null, h.count ?? null, h.workflowId]);
			expect(await runOf('a')).toEqual([
				['claimed', 'first_seen', T0, null, null, 'wf-old'],
				['processed', null, T0 + 1, null, null, 'wf-old'],
				['duplicate_seen', 'already_processed', T0 + 2, T0 + 4, 3, 'wf-old'],
			]);
			expect(await store.stats('ns', 3_600_000, T0 + 10)).toMatchObject({ new: 2, duplicate: 3, processed: 1 });

			// The old run goes on with the new code; the claim still open from before settles.
			expect((await store.claim('ns', [{ key: 'a', fingerprint: null }], basePolicy, actor, T0 + 5))[0]).toMatchObject({ outcome: 'duplicate', result: { id: 1 } });
			expect((await runOf('a')).pop()).toEqual(['duplicate_seen', 'already_processed', T0 + 2, T0 + 5, 4, 'wf-old']);
			expect((await store.get('ns', 'a'))?.duplicateCount).toBe(4);
			const [settled] = await store.transition('ns', [{ kind: 'markProcessed', key: 'b', claimToken: b.claim_token, verifyClaim: true, force: false, resultJson: '{"id":2}', retentionMs: 86_400_000 }], actor, T0 + 6);
			expect(settled).toMatchObject({ applied: true, record: { state: 'processed', result: { id: 2 } } });
			expect((await store.list('ns', { state: 'processed', limit: 10 }, T0 + 7)).records.map((r) => r.key).sort()).toEqual(['a', 'b']);
			expect(await store.stats('ns', 3_600_000, T0 + 10)).toMatchObject({ new: 2, duplicate: 4, processed: 2 });
		} finally {
			await store.close();
		}
	});
});
