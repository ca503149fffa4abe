// A database filled by the code of schema version 006 upgrades in place (migrations 007, 008):
// its records and history stay readable — one-row-per-duplicate history reads as one run — its
// stats are carried into the hourly counters, and its keys go on being claimed and settled.

import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { Pool } from 'pg';
import { loadFunctions, loadMigrations } from '../../../nodes/shared/store/postgres/migrate';
import { dropSchema, POSTGRES_URL, postgresTestStore, sql, uniqueSchema } from '../../helpers/postgres';
import { catalogOf } from '../../helpers/postgresCatalog';
import { actor, basePolicy } from '../conformance';
import { createShippedSchema, shippedStatement as oldStatement } from '../fixtures/postgres-006/shipped';

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
		await createShippedSchema(pool, schema, 6);
		const a = (await oldClaim('a', T0)).rows[0];
		const b = (await oldClaim('b', T0)).rows[0];
		expect([a.decision, b.decision]).toEqual(['new:first_seen', 'new:first_seen']);
		await oldMarkProcessed('a', a.claim_token, T0 + 1);
		for (let i = 0; i < 3; i++) expect((await oldClaim('a', T0 + 2 + i)).rows[0].decision).toBe('duplicate:already_processed');
		expect((await sql(`SELECT count(*)::int AS n FROM "${schema}".history WHERE key = 'a' AND event = 'duplicate_seen'`))[0]).toEqual({ n: 3 });
		// An exception a person resolved before resolved_via existed, and one still open (migration 009).
		const [{ id: resolvedBefore }] = await sql<{ id: string }>(
			`INSERT INTO "${schema}".exceptions (namespace, key, reason, reasons, owner, severity, route, status, first_seen_at, last_seen_at, resolution, resolved_by, resolved_at)
			 VALUES ('ns', 'x', 'write_timeout', ARRAY['write_timeout'], 'ops', 'high', 'Finance', 'resolved', $1, $1, 'discard', 'jane', $1) RETURNING id`,
			[T0],
		);
		const [{ id: openBefore }] = await sql<{ id: string }>(
			`INSERT INTO "${schema}".exceptions (namespace, key, reason, reasons, owner, severity, route, first_seen_at, last_seen_at)
			 VALUES ('ns', 'b', 'write_timeout', ARRAY['write_timeout'], 'ops', 'high', 'Finance', $1, $1) RETURNING id`,
			[T0],
		);

		const store = postgresTestStore(schema, 2);
		try {
			expect((await store.health()).ok).toBe(true); // migrates
			const versions = await sql<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
			expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
			expect(await store.getException(resolvedBefore)).toMatchObject({ resolution: 'discard', resolvedBy: 'jane', resolvedVia: 'person' });

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
			// The resolution CHECK of migration 004 now allows `reconciled`.
			const reconciled = await store.resolveException({ id: openBefore, namespace: null, key: null, resolution: 'reconciled', resolvedBy: 'Reconcile', resolvedVia: 'reconcile', note: null, resultJson: '{"id":2}' }, actor, T0 + 8);
			expect(reconciled.exceptions).toMatchObject([{ id: openBefore, resolution: 'reconciled', resolvedVia: 'reconcile' }]);
		} finally {
			await store.close();
		}
	});
});

// Each Postgres function is defined once, in functions/, and applied after the migrations; the
// migrations hold only tables, indexes, backfills and the drops of signatures that changed.
describe('Postgres functions, one definition each', () => {
	const FUNCTIONS = join(__dirname, '..', '..', '..', 'nodes', 'shared', 'store', 'postgres', 'functions');
	const latest = Math.max(...loadMigrations('x').map((m) => m.version));
	const schemas: string[] = [];
	const pool = new Pool({ connectionString: POSTGRES_URL, max: 1 });
	const fresh = async (label: string) => {
		const schema = uniqueSchema(label);
		schemas.push(schema);
		const store = postgresTestStore(schema, 1);
		expect((await store.health()).ok).toBe(true);
		await store.close();
		return schema;
	};
	const start = async (schema: string) => {
		const store = postgresTestStore(schema, 1);
		expect((await store.health()).ok).toBe(true);
		await store.close();
	};
	const bodyOf = async (schema: string, name: string) =>
		(await sql<{ prosrc: string }>(`SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = $2`, [schema, name])).map((r) => r.prosrc);
	const applications = (schema: string) => sql<{ hash: string; schema_version: number }>(`SELECT hash, schema_version FROM "${schema}".schema_functions ORDER BY id`);
	afterAll(async () => {
		await pool.end();
		for (const schema of schemas) await dropSchema(schema);
	});

	it('a fresh schema holds each function of functions/ once, with its file\'s body, and no other', async () => {
		const schema = await fresh('functions_fresh');
		const defined = readdirSync(FUNCTIONS).flatMap((file) => {
			const text = readFileSync(join(FUNCTIONS, file), 'utf8').split('{{schema}}').join(`"${schema}"`);
			const found = [...text.matchAll(/CREATE OR REPLACE FUNCTION "[^"]+"\.(\w+)\(.*?\$fn\$(.*?)\$fn\$;/gs)].map((m) => [m[1], m[2]]);
			expect(found.map(([name]) => `${name}.sql`)).toEqual([file]); // one function a file, named after it
			return found;
		});
		const present = await sql<{ proname: string; prosrc: string }>(
			`SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`,
			[schema],
		);
		expect(present.map((p) => [p.proname, p.prosrc])).toEqual(defined.sort(([a], [b]) => a.localeCompare(b)));
		expect(present.map((p) => p.proname)).toEqual(expect.arrayContaining(['apply_transition', 'claim_existing', 'decide_claim', 'drop_prior', 'resolve_exception', 'restore_claim']));
		expect((await catalogOf(schema)).triggers).toEqual([
			`CREATE TRIGGER records_drop_prior BEFORE UPDATE ON {{schema}}.records FOR EACH ROW WHEN (((new.prior IS NOT NULL) AND (new.state <> 'processing'::text))) EXECUTE FUNCTION {{schema}}.drop_prior()`,
		]);
		expect(await applications(schema)).toEqual([{ hash: loadFunctions(schema).hash, schema_version: latest }]);
	});

	it.each([1, 2, 3, 4, 5, 6, 7, 8])('a schema left by the code of version %i, upgraded, is the same as a fresh one, catalog-wise', async (version) => {
		const reference = await fresh('functions_ref');
		const old = uniqueSchema(`functions_at_${version}`);
		schemas.push(old);
		await createShippedSchema(pool, old, version);
		await start(old);
		expect(await catalogOf(old)).toEqual(await catalogOf(reference));
	});

	// One function set per schema version: a change in functions/ needs a migration (one that only
	// says `SELECT 1` is enough), so that code of the same version never puts back another set
	// (migrate.ts applyFunctions). When this fails: add the migration, then pin the new hash here.
	it('pins the function set to the latest migration', () => {
		const pinned: Record<number, string> = {
			8: 'c3c560b20b433e7c56f75a8ac4a4e169aad68f53644aad3a898646028b084dcc',
			9: '8af5846acfc0d924a53270e8327ef4e32c829dca04e3a1ba245bcba65edef43e',
			10: '87c66c83421adc990571c0c475930d9eff1870f196f1e536263d2e40485f59f8',
		};
		expect({ version: latest, hash: loadFunctions('pin').hash }).toEqual({ version: latest, hash: pinned[latest] });
	});

	it('an unchanged start applies nothing; an earlier version\'s set or a migration applies the set again; a set of this or a newer version stays', async () => {
		const schema = await fresh('functions_hash');
		const [original] = await bodyOf(schema, 'close_run');
		const tamper = () => pool.query(`CREATE OR REPLACE FUNCTION "${schema}".close_run(INOUT r "${schema}".records) LANGUAGE plpgsql AS $fn$BEGIN END$fn$`);

		await tamper();
		await start(schema);
		expect(await bodyOf(schema, 'close_run')).toEqual(['BEGIN END']); // same hash: not applied
		expect(await applications(schema)).toHaveLength(1);

		// Another set of the same schema version (another release of it): left alone.
		await pool.query(`UPDATE "${schema}".schema_functions SET hash = 'a set of this version'`);
		await start(schema);
		expect(await bodyOf(schema, 'close_run')).toEqual(['BEGIN END']);
		expect(await applications(schema)).toHaveLength(1);

		// The set of an earlier schema version: replaced by this one.
		await pool.query(`UPDATE "${schema}".schema_functions SET hash = 'an earlier set', schema_version = $1`, [latest - 1]);
		await start(schema);
		expect(await bodyOf(schema, 'close_run')).toEqual([original]);
		expect((await applications(schema)).map((a) => a.hash)).toEqual(['an earlier set', loadFunctions(schema).hash]);

		// A migration applied (here 008 again: it drops apply_transition) re-applies the set, same hash or not.
		await tamper();
		await pool.query(`DELETE FROM "${schema}".schema_migrations WHERE version = 8`);
		await start(schema);
		expect(await bodyOf(schema, 'close_run')).toEqual([original]);
		expect(await bodyOf(schema, 'apply_transition')).toHaveLength(1);
		expect(await applications(schema)).toHaveLength(3);

		// Code of a newer schema version applied its set: this older code does not put its own back.
		await tamper();
		await pool.query(`INSERT INTO "${schema}".schema_functions (hash, schema_version, applied_at) VALUES ('a newer set', $1, clock_timestamp())`, [latest + 1]);
		await start(schema);
		expect(await bodyOf(schema, 'close_run')).toEqual(['BEGIN END']);
		expect(await applications(schema)).toHaveLength(4);
	});
});
