// Store faults (docs/CONTRACT.md §8): a connection killed in the middle of a batch leaves the batch all or
// nothing and fails the node clearly (or routes store_unavailable when configured); a store that
// drops its connections is reconnected to without restarting anything; nothing is ever claimed
// twice.

import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { closeAllStores } from '../../nodes/shared/store/registry';
import { NamespaceKeys } from '../../nodes/shared/store/redis/keys';
import { createRedisStore } from '../../nodes/shared/store/redis/RedisStore';
import type { ClaimPolicy } from '../../nodes/shared/store/types';
import { mockContext, postgresCredential, redisCredential } from '../helpers/n8nContext';
import { dropSchema, POSTGRES_URL, postgresTestStore, sql, uniqueSchema } from '../helpers/postgres';

const policy: ClaimPolicy = { leaseMs: 60_000, retentionMs: 0, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
const actor = { workflowId: 'w', executionId: 'e', node: 'Guard' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Postgres faults', () => {
	const schema = uniqueSchema('faults');
	const credentials = { idempotencyPostgresApi: postgresCredential(schema) };
	let locker: Client;
	let lockerPid = 0;

	beforeAll(async () => {
		const setup = postgresTestStore(schema, 1);
		await setup.health();
		await setup.close();
		locker = new Client({ connectionString: POSTGRES_URL });
		await locker.connect();
		lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
	});
	afterAll(async () => {
		await locker.end();
		await closeAllStores();
		await dropSchema(schema);
	});

	/** Holds a row lock on (namespace, key) so a claim of that key blocks mid-statement. */
	async function holdRow(namespace: string, key: string): Promise<() => Promise<void>> {
		await locker.query('BEGIN');
		await locker.query(
			`INSERT INTO "${schema}".records (namespace, key, state, attempt, first_seen_at, last_seen_at, updated_at, lease_until)
			 VALUES ($1, $2, 'processing', 1, 0, 0, 0, 9999999999999)`,
			[namespace, key],
		);
		return async () => {
			await locker.query('ROLLBACK');
		};
	}

	/**
	 * Terminates the backends of this package whose claim waits on this file's locker (the blocked
	 * claim) — not another test run's that shares the server.
	 */
	async function killBlockedClaim(): Promise<number> {
		for (let i = 0; i < 100; i++) {
			const rows = await sql<{ pid: number }>(
				`SELECT pid FROM pg_stat_activity
				 WHERE application_name = 'n8n-nodes-idempotency' AND wait_event_type = 'Lock' AND query LIKE '%claim_existing%'
				   AND $1 = ANY(pg_blocking_pids(pid))`,
				[lockerPid],
			);
			if (rows.length > 0) {
				for (const row of rows) await sql('SELECT pg_terminate_backend($1)', [row.pid]);
				return rows.length;
			}
			await sleep(20);
		}
		return 0;
	}

	const guard = (namespace: string, items: INodeExecutionData[], options: IDataObject = {}) =>
		new IdempotencyGuard().execute.call(
			mockContext({ items, parameters: { store: 'postgres', namespace, keySource: 'fields', keyFields: 'k', options }, credentials }),
		);
	/** A 1,500-item input whose second chunk is blocked on key-1200 and then has its backend killed. */
	const input1500 = () => Array.from({ length: 1500 }, (_, i) => ({ json: { k: `key-${String(i).padStart(4, '0')}` } }));
	async function guardWithSecondChunkKilled(namespace: string, items: INodeExecutionData[]): Promise<Error | null> {
		const release = await holdRow(namespace, 'key-1200');
		const run = guard(namespace, items).then(() => null, (e: Error) => e);
		expect(await killBlockedClaim()).toBe(1);
		const error = await run;
		await release();
		return error;
	}
	const countRecords = async (namespace: string) =>
		Number((await sql<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".records WHERE namespace = $1`, [namespace]))[0].n);

	it('a connection killed mid-chunk claims nothing of the chunk and fails the node clearly', async () => {
		const namespace = `kill-${randomUUID()}`;
		const items = Array.from({ length: 500 }, (_, i) => ({ json: { k: `key-${String(i).padStart(3, '0')}` } }));
		const release = await holdRow(namespace, 'key-250');
		const run = guard(namespace, items).then(() => null, (e: Error) => e);
		expect(await killBlockedClaim()).toBe(1);
		const error = await run;
		await release();
		expect(error?.message).toMatch(/The idempotency store failed: Postgres at 127\.0\.0\.1:5432 is unavailable while claiming keys/);
		expect(await countRecords(namespace)).toBe(0);
		// The pool recovers by itself, and the redelivery is new: nothing was claimed twice.
		const [fresh] = await guard(namespace, items);
		expect(fresh).toHaveLength(500);
	});

	it('a connection killed in a later chunk releases the fresh claims of the earlier ones', async () => {
		const namespace = `kill2-${randomUUID()}`;
		const items = input1500();
		// Chunks are taken in input order: key-1200 is in the second chunk.
		const error = await guardWithSecondChunkKilled(namespace, items);
		expect(error?.message).toMatch(/unavailable while claiming keys/);
		expect(await countRecords(namespace)).toBe(0);
		const released = await sql<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".history WHERE namespace = $1 AND event = 'released'`, [namespace]);
		expect(Number(released[0].n)).toBe(1000);
		const [fresh] = await guard(namespace, items);
		expect(fresh).toHaveLength(1500);
	});

	it('a connection killed in a later chunk gives every key of the input back the record it had', async () => {
		const namespace = `kill4-${randomUUID()}`;
		const store = postgresTestStore(schema, 1);
		// key-0000 failed once (a retry takes it), key-0001 was marked received: both are claimed
		// by the first chunk; key-1200 in the second chunk is locked, and its backend is killed.
		const [failed] = await store.claim(namespace, [{ key: 'key-0000', fingerprint: null }], { ...policy, retentionMs: 86_400_000 }, actor);
		await store.transition(namespace, [{ kind: 'markFailed', key: 'key-0000', claimToken: failed.claimToken, verifyClaim: true, force: false, errorMessage: 'CRM 503', retentionMs: 0 }], actor);
		await store.transition(namespace, [{ kind: 'markReceived', key: 'key-0001', claimToken: null, verifyClaim: false, force: false, retentionMs: 0 }], actor);
		const before = [await store.get(namespace, 'key-0000'), await store.get(namespace, 'key-0001')];
		const items = input1500();
		const error = await guardWithSecondChunkKilled(namespace, items);
		expect(error?.message).toMatch(/unavailable while claiming keys/);
		expect([await store.get(namespace, 'key-0000'), await store.get(namespace, 'key-0001')]).toEqual(before);
		expect(await countRecords(namespace)).toBe(2);
		// The redelivery decides as if the failed run never happened: the same retry, attempt 2.
		const [fresh] = await guard(namespace, items);
		expect(fresh).toHaveLength(1500);
		const meta = (key: string) => fresh.map((i) => i.json._idempotency as IDataObject).find((m) => m.key === key);
		expect(meta('key-0000')).toMatchObject({ reason: 'retry_after_failure', attempt: 2 });
		expect(meta('key-0001')).toMatchObject({ reason: 'first_seen', attempt: 1 });
		await store.close();
	});

	it('routes every item to Ambiguous store_unavailable instead, when configured', async () => {
		const namespace = `kill3-${randomUUID()}`;
		const items = Array.from({ length: 20 }, (_, i) => ({ json: { k: `key-${i}` } }));
		const release = await holdRow(namespace, 'key-5');
		const run = guard(namespace, items, { onStoreError: 'ambiguous' });
		expect(await killBlockedClaim()).toBe(1);
		const [fresh, duplicate, ambiguous] = await run;
		await release();
		expect(fresh).toHaveLength(0);
		expect(duplicate).toHaveLength(0);
		expect(ambiguous.map((i) => (i.json._idempotency as IDataObject).reason)).toEqual(Array(20).fill('store_unavailable'));
		expect(await countRecords(namespace)).toBe(0);
	});

	it('reconnects after the server dropped every connection of the pool', async () => {
		const namespace = `restart-${randomUUID()}`;
		await guard(namespace, [{ json: { k: 'a' } }]);
		await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'n8n-nodes-idempotency' AND pid <> pg_backend_pid()`);
		await sleep(100);
		const [, , ambiguous] = await guard(namespace, [{ json: { k: 'a' } }]);
		expect((ambiguous[0].json._idempotency as IDataObject).reason).toBe('in_progress');
	});
});

describe('Redis faults', () => {
	const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
	const prefix = `test:faults:${randomUUID().slice(0, 8)}:`;
	const admin = new Redis({ host: url.hostname, port: Number(url.port || 6379), lazyConnect: true });
	const open = () => createRedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });

	beforeAll(async () => {
		await admin.connect();
	});
	afterAll(async () => {
		let cursor = '0';
		do {
			const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
			cursor = next;
			if (keys.length) await admin.del(...keys);
		} while (cursor !== '0');
		await admin.quit();
	});

	const killOurClients = async () => {
		const list = (await admin.client('LIST')) as string;
		const ids = list
			.split('\n')
			.filter((line) => line.includes('name=n8n-nodes-idempotency'))
			.map((line) => /id=(\d+)/.exec(line)?.[1])
			.filter(Boolean) as string[];
		for (const id of ids) await admin.client('KILL', 'ID', id).catch(() => undefined);
		return ids.length;
	};

	it('a connection killed while chunks are in flight leaves each chunk all or nothing, and never two new', async () => {
		const store = open();
		const ns = `kill-${randomUUID()}`;
		const keys = Array.from({ length: 5000 }, (_, i) => `k-${i}`);
		const chunks = Array.from({ length: 5 }, (_, c) => keys.slice(c * 1000, (c + 1) * 1000).map((key) => ({ key, fingerprint: null })));
		await store.health();
		const runs = chunks.map((chunk) => store.claim(ns, chunk, policy, actor).then((d) => d, () => null));
		await sleep(2);
		expect(await killOurClients()).toBeGreaterThan(0);
		const results = await Promise.all(runs);
		for (let c = 0; c < chunks.length; c++) {
			const stored = await Promise.all(chunks[c].map((r) => store.get(ns, r.key)));
			const present = stored.filter(Boolean).length;
			expect([0, 1000]).toContain(present);
			if (results[c]) expect(present).toBe(1000);
		}
		// Claim everything again: a key already claimed is never new a second time.
		const again = (await Promise.all(chunks.map((chunk) => store.claim(ns, chunk, policy, actor)))).flat();
		const firstNews = new Set(results.flatMap((r) => (r ?? []).filter((d) => d.outcome === 'new').map((d) => d.key)));
		for (const d of again) if (firstNews.has(d.key)) expect(d.outcome).not.toBe('new');
		await store.close();
	});

	it('a later chunk that fails in Redis gives every key of the input back the record it had', async () => {
		const store = open();
		const ns = `later-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		const [failed] = await store.claim(ns, [{ key: 'key-0000', fingerprint: null }], { ...policy, retentionMs: 86_400_000 }, actor);
		await store.transition(ns, [{ kind: 'markFailed', key: 'key-0000', claimToken: failed.claimToken, verifyClaim: true, force: false, errorMessage: 'CRM 503', retentionMs: 0 }], actor);
		await store.transition(ns, [{ kind: 'markReceived', key: 'key-0001', claimToken: null, verifyClaim: false, force: false, retentionMs: 0 }], actor);
		const before = [await store.get(ns, 'key-0000'), await store.get(ns, 'key-0001')];
		const ttl = await admin.pttl(keys.record('key-0000'));
		// The second chunk's script refuses before writing: key-1200's record is not a hash.
		await admin.set(keys.record('key-1200'), 'in the way');
		const items = Array.from({ length: 1500 }, (_, i) => ({ json: { k: `key-${String(i).padStart(4, '0')}` } }));
		const guardRedis = (input: INodeExecutionData[]) =>
			new IdempotencyGuard().execute.call(
				mockContext({ items: input, parameters: { store: 'redis', namespace: ns, keySource: 'fields', keyFields: 'k', options: {} }, credentials: { idempotencyRedisApi: redisCredential(prefix) } }),
			);
		await expect(guardRedis(items)).rejects.toThrow(/The idempotency store failed/);
		expect([await store.get(ns, 'key-0000'), await store.get(ns, 'key-0001')]).toEqual(before);
		expect(Math.abs((await admin.pttl(keys.record('key-0000'))) - ttl)).toBeLessThan(5_000);
		expect(await store.get(ns, 'key-0002')).toBeNull();
		expect(await admin.zcard(keys.stateIndex('processing'))).toBe(0);
		await admin.del(keys.record('key-1200'));
		const [fresh] = await guardRedis(items);
		expect(fresh).toHaveLength(1500);
		const meta = (key: string) => fresh.map((i) => i.json._idempotency as IDataObject).find((m) => m.key === key);
		expect(meta('key-0000')).toMatchObject({ reason: 'retry_after_failure', attempt: 2 });
		expect(meta('key-0001')).toMatchObject({ reason: 'first_seen', attempt: 1 });
		await store.close();
		await closeAllStores();
	});

	it('reconnects by itself after its connection was killed', async () => {
		const store = open();
		const ns = `reconnect-${randomUUID()}`;
		expect((await store.claim(ns, [{ key: 'a', fingerprint: null }], policy, actor))[0].outcome).toBe('new');
		expect(await killOurClients()).toBeGreaterThan(0);
		await sleep(300);
		expect((await store.claim(ns, [{ key: 'a', fingerprint: null }], policy, actor))[0]).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
		await store.close();
	});

	it('the health check says that a Redis without persistence forgets claims on restart: refused, or accepted in the credential', async () => {
		const accepted = open();
		const refused = createRedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone' });
		const [ok, notOk] = [await accepted.health(), await refused.health()];
		await Promise.all([accepted.close(), refused.close()]);
		const config = (await admin.config('GET', 'appendonly')) as string[];
		const save = (await admin.config('GET', 'save')) as string[];
		expect(ok.ok).toBe(true);
		if (config[1] === 'no' && save[1] === '') {
			expect(ok.message).toMatch(/Accepted in the credential: .*keeps nothing on disk: any restart/);
			expect(notOk).toMatchObject({ ok: false, message: expect.stringMatching(/keeps nothing on disk.*"Allow No Persistence"/) });
		}
	});
});
