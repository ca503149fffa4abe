// The embedded store's executor on a real PGlite (in memory): a statement the store names is
// prepared once and then only bound and executed, gives the rows an unnamed one gives, survives
// its own errors, and never runs inside another caller's open transaction.

import * as pglite from '@electric-sql/pglite';
import { PGlite } from '@electric-sql/pglite';
import { pgliteExecutor, type PGliteLike, type PGliteProtocol } from '../../../nodes/shared/store/embedded/pgliteExecutor';
import type { SqlExecutor } from '../../../nodes/shared/store/postgres/executor';

const INSERT = `INSERT INTO t (k, n, doc, at)
	SELECT k, $2::integer, $3::jsonb, coalesce($4::bigint, 7) FROM unnest($1::text[]) k
	ON CONFLICT (k) DO UPDATE SET n = t.n + excluded.n
	RETURNING k, n, doc, at, $5::text[] AS tags`;

let db: PGlite;
let executor: SqlExecutor;

function open(module: Partial<PGliteProtocol>): SqlExecutor {
	const opened = { db: db as unknown as PGliteLike, pglite: module };
	return pgliteExecutor(async () => opened, async () => undefined);
}

const prepared = async () =>
	(await db.query<{ name: string; calls: number }>(`SELECT name, generic_plans + custom_plans AS calls FROM pg_prepared_statements ORDER BY name`)).rows;

beforeAll(async () => {
	db = new PGlite();
	await db.waitReady;
});
afterAll(() => db.close());
beforeEach(async () => {
	await db.exec(`DEALLOCATE ALL; DROP TABLE IF EXISTS t; CREATE TABLE t (k text PRIMARY KEY, n integer, doc jsonb, at bigint)`);
	executor = open(pglite as unknown as Partial<PGliteProtocol>);
});

describe('PGlite executor: named statements', () => {
	it('prepares a named statement once and returns what the unnamed statement returns', async () => {
		const values = [['a', 'b'], 2, JSON.stringify({ x: [1, 'two'] }), null, ['p', null, 'q"r']];
		const named = await executor.query(INSERT, values, 'insert_t');
		await db.exec('TRUNCATE t');
		const unnamed = await executor.query(INSERT, values);
		expect(named).toEqual(unnamed);
		expect(named).toEqual([
			{ k: 'a', n: 2, doc: { x: [1, 'two'] }, at: 7, tags: ['p', null, 'q"r'] },
			{ k: 'b', n: 2, doc: { x: [1, 'two'] }, at: 7, tags: ['p', null, 'q"r'] },
		]);
		for (let i = 0; i < 4; i++) await executor.query(INSERT, [['a'], 1, null, 123, []], 'insert_t');
		expect((await db.query(`SELECT n, at FROM t WHERE k = 'a'`)).rows).toEqual([{ n: 6, at: 7 }]);
		// One prepared statement, executed by all five named calls (the unnamed one is not listed).
		expect(await prepared()).toEqual([{ name: 'insert_t', calls: 5 }]);
	});

	it('throws the database error of a failed execution and runs the statement again afterwards', async () => {
		await expect(executor.query(INSERT, [['a'], 'not a number', null, null, []], 'insert_t')).rejects.toMatchObject({ code: '22P02' });
		await expect(executor.query(INSERT, [['a'], 1, '{"broken"', null, []], 'insert_t')).rejects.toMatchObject({ code: '22P02' });
		expect(await executor.query(INSERT, [['a'], 1, null, null, []], 'insert_t')).toEqual([{ k: 'a', n: 1, doc: null, at: 7, tags: [] }]);
		// The session is usable for unnamed statements and transactions too.
		expect(await executor.transaction((q) => q(`SELECT count(*)::integer AS c FROM t WHERE n = $1`, [1]))).toEqual([{ c: 1 }]);
	});

	it('prepares nothing when the statement does not parse, and prepares it once it does', async () => {
		const text = `INSERT INTO later (k) SELECT unnest($1::text[]) RETURNING k`;
		await expect(executor.query(text, [['a']], 'insert_later')).rejects.toMatchObject({ code: '42P01' });
		expect(await prepared()).toEqual([]);
		await db.exec('CREATE TABLE later (k text)');
		expect(await executor.query(text, [['a']], 'insert_later')).toEqual([{ k: 'a' }]);
		expect(await prepared()).toEqual([{ name: 'insert_later', calls: 1 }]);
		await db.exec('DROP TABLE later');
	});

	it('waits for another caller’s open transaction instead of running inside it', async () => {
		let inside!: () => void;
		const entered = new Promise<void>((resolve) => (inside = resolve));
		let release!: () => void;
		const released = new Promise<void>((resolve) => (release = resolve));
		const rolledBack = executor.transaction(async (q) => {
			await q(`INSERT INTO t (k, n) VALUES ($1, 1)`, ['in-transaction']);
			inside();
			await released;
			throw new Error('roll back');
		});
		await entered;
		const outside = executor.query(INSERT, [['outside'], 1, null, null, []], 'insert_t');
		// Give the named statement every chance to run while the transaction is open.
		await new Promise((resolve) => setTimeout(resolve, 50));
		release();
		await expect(rolledBack).rejects.toThrow('roll back');
		await outside;
		expect((await db.query(`SELECT k FROM t ORDER BY k`)).rows).toEqual([{ k: 'outside' }]);
	});

	it('runs every statement unnamed when the module has no protocol helpers', async () => {
		const plain = open({});
		expect(await plain.query(INSERT, [['a'], 1, null, null, []], 'insert_t')).toEqual([{ k: 'a', n: 1, doc: null, at: 7, tags: [] }]);
		expect(await prepared()).toEqual([]);
	});
});
