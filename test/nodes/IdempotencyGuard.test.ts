// The Guard's execute() with a mocked IExecuteFunctions and the real store behind it.

import type { INodeExecutionData } from 'n8n-workflow';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';
import { closeAllStores } from '../../nodes/shared/store/registry';
import { mockContext, postgresCredential, type ParameterValue } from '../helpers/n8nContext';
import { dropSchema, postgresTestStore, sql, uniqueSchema } from '../helpers/postgres';

const schema = uniqueSchema('guard_node');
const credentials = { idempotencyPostgresApi: postgresCredential(schema) };
let namespace = '';
let n = 0;

afterAll(async () => {
	await closeAllStores();
	await dropSchema(schema);
});
beforeEach(() => {
	namespace = `guard-${Date.now()}-${n++}`;
});

type Meta = Record<string, unknown>;
const meta = (item: INodeExecutionData) => item.json._idempotency as Meta;

async function run(
	items: INodeExecutionData[],
	parameters: Record<string, ParameterValue> = {},
	more: { continueOnFail?: boolean; executionId?: string } = {},
) {
	const guard = new IdempotencyGuard();
	const context = mockContext({
		items,
		parameters: { store: 'postgres', namespace, keySource: 'fields', keyFields: 'body.email, body.source', fingerprint: 'none', options: {}, ...parameters },
		credentials,
		...more,
	});
	const [fresh, duplicate, ambiguous] = await guard.execute.call(context);
	return { fresh, duplicate, ambiguous };
}

const lead = (email: unknown, extra: Record<string, unknown> = {}): INodeExecutionData => ({
	json: { body: { email, source: 'form', ...extra } },
});

describe('Idempotency Guard node', () => {
	it('routes a first delivery to New and its retries to Duplicate with the stored result', async () => {
		const first = await run([lead('Jane@x.com')]);
		expect(first.fresh).toHaveLength(1);
		const m = meta(first.fresh[0]);
		expect(m).toMatchObject({ namespace, key: 'Jane@x.com|form', outcome: 'new', reason: 'first_seen', state: 'processing', attempt: 1, result: null });
		expect(typeof m.claimToken).toBe('string');
		expect(new Date(m.firstSeenAt as string).toISOString()).toBe(m.firstSeenAt);
		expect(new Date(m.leaseUntil as string).getTime()).toBeGreaterThan(Date.now() + 290_000);
		expect(first.fresh[0].pairedItem).toEqual({ item: 0 });

		await sql(`UPDATE "${schema}".records SET state = 'processed', result = '{"contactId":"c-9"}' WHERE namespace = $1`, [namespace]);
		const retry = await run([lead(' Jane@x.com ')]);
		expect(retry.fresh).toHaveLength(0);
		expect(retry.duplicate).toHaveLength(1);
		expect(meta(retry.duplicate[0])).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', claimToken: null, result: { contactId: 'c-9' } });
	});

	it('keeps json and binary untouched and adds only _idempotency', async () => {
		const binary = { data: { data: 'aGVsbG8=', mimeType: 'text/plain', fileName: 'a.txt' } };
		const { fresh } = await run([{ json: { body: { email: 'a@b', source: 's' }, other: [1, { x: 2 }] }, binary }]);
		expect(fresh[0].binary).toBe(binary);
		const { _idempotency, ...rest } = fresh[0].json;
		expect(rest).toEqual({ body: { email: 'a@b', source: 's' }, other: [1, { x: 2 }] });
		expect(_idempotency).toBeDefined();
	});

	it('claims a whole input in order, with in-batch duplicates and pairedItem on every output', async () => {
		const items = [lead('a'), lead('b'), lead('a'), lead('c'), lead('b')];
		const { fresh, duplicate, ambiguous } = await run(items);
		expect(fresh.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 3 }]);
		expect(duplicate.map((i) => i.pairedItem)).toEqual([{ item: 2 }, { item: 4 }]);
		expect(duplicate.map((i) => meta(i).reason)).toEqual(['duplicate_in_batch', 'duplicate_in_batch']);
		expect(duplicate.every((i) => meta(i).claimToken === null)).toBe(true);
		expect(ambiguous).toHaveLength(0);
		// Read through the store: an open run of duplicates lives on the record, not in the history table.
		const reader = postgresTestStore(schema, 1);
		const history = await reader.history(namespace, 'a|form');
		await reader.close();
		expect(history.map(({ event, reason }) => ({ event, reason }))).toEqual([
			{ event: 'claimed', reason: 'first_seen' },
			{ event: 'duplicate_seen', reason: 'duplicate_in_batch' },
		]);
	});

	it('routes an in-batch repeat with another payload to Ambiguous', async () => {
		const { fresh, ambiguous } = await run(
			[lead('a', { amount: 1 }), lead('a', { amount: 2 })],
			{ fingerprint: 'fields', fingerprintFields: 'body.amount' },
		);
		expect(fresh).toHaveLength(1);
		expect(meta(ambiguous[0])).toMatchObject({ outcome: 'ambiguous', reason: 'duplicate_in_batch' });
	});

	it('routes a changed payload of a known key to Ambiguous payload_mismatch', async () => {
		await run([lead('a', { amount: 1 })], { fingerprint: 'item' });
		const { ambiguous } = await run([lead('a', { amount: 2 })], { fingerprint: 'item' });
		expect(meta(ambiguous[0])).toMatchObject({ outcome: 'ambiguous', reason: 'payload_mismatch' });
	});

	it('routes a missing key to Ambiguous missing_key, naming the field', async () => {
		const { fresh, ambiguous } = await run([lead(''), lead('ok'), { json: { body: { source: 'form' } } }]);
		expect(fresh).toHaveLength(1);
		expect(ambiguous.map((i) => meta(i).reason)).toEqual(['missing_key', 'missing_key']);
		expect(meta(ambiguous[0])).toMatchObject({ key: null, outcome: 'ambiguous', state: null, detail: 'field "body.email" is empty' });
		expect(ambiguous.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 2 }]);
	});

	it('fails on a missing key with onMissingKey = error, naming the item', async () => {
		await expect(run([lead('ok'), lead(null)], { options: { onMissingKey: 'error' } })).rejects.toThrow(
			/Item 1 has no usable business key: field "body.email" is missing/,
		);
	});

	it('honours continueOnFail per item: the bad item goes to Ambiguous with its error, never to New', async () => {
		const { fresh, ambiguous } = await run([lead('ok'), lead(null)], { options: { onMissingKey: 'error' } }, { continueOnFail: true });
		expect(fresh).toHaveLength(1);
		expect(ambiguous).toHaveLength(1);
		expect(ambiguous[0].json.error).toMatch(/Item 1 has no usable business key/);
		expect(ambiguous[0].pairedItem).toEqual({ item: 1 });
	});

	it.each([[''], ['   '], ['x'.repeat(201)], [{ a: 1 }]])('refuses the namespace %j with a clear error', async (bad) => {
		await expect(run([lead('a')], { namespace: bad })).rejects.toThrow(/Item 0: Namespace/);
	});

	it('builds keys from an expression and hashes them with hashKeys', async () => {
		const { fresh } = await run([lead('jane@x.com')], {
			keySource: 'expression',
			key: (i: number) => `lead-${i}-jane@x.com`,
			options: { hashKeys: true },
		});
		expect(meta(fresh[0]).key).toMatch(/^sha256:[0-9a-f]{64}$/);
		const rows = await sql<{ key: string }>(`SELECT key FROM "${schema}".records WHERE namespace = $1`, [namespace]);
		expect(JSON.stringify(rows)).not.toContain('jane@x.com');
	});

	it('stores keys over 256 characters as sha256', async () => {
		const { fresh } = await run([lead('x'.repeat(300))]);
		expect(meta(fresh[0]).key).toMatch(/^sha256:[0-9a-f]{64}$/);
	});

	it('takes over a stale claim with onLeaseExpired = reclaim', async () => {
		await run([lead('a')], { options: { leaseSeconds: 1 } });
		await sql(`UPDATE "${schema}".records SET lease_until = 0 WHERE namespace = $1`, [namespace]);
		const stale = await run([lead('a')]);
		expect(meta(stale.ambiguous[0])).toMatchObject({ reason: 'lease_expired' });
		const taken = await run([lead('a')], { options: { onLeaseExpired: 'reclaim' } });
		expect(meta(taken.fresh[0])).toMatchObject({ reason: 'reclaimed', attempt: 2 });
	});

	it('claims 2500 items in chunks of at most 1000, one round trip each', async () => {
		const items = Array.from({ length: 2500 }, (_, i) => lead(`bulk-${i}`));
		// A spy that calls through: it only counts the store round trips.
		const claims = jest.spyOn(PostgresStore.prototype, 'claim');
		try {
			const { fresh } = await run(items);
			expect(fresh).toHaveLength(2500);
			expect(fresh.map((i) => (i.pairedItem as { item: number }).item)).toEqual(items.map((_, i) => i));
			expect(claims.mock.calls.map((call) => call[1].length)).toEqual([1000, 1000, 500]);
		} finally {
			claims.mockRestore();
		}
	});

	it('fails clearly when the store is down and routes nothing as New', async () => {
		const guard = new IdempotencyGuard();
		const context = mockContext({
			items: [lead('a')],
			parameters: { store: 'postgres', namespace, keySource: 'fields', keyFields: 'body.email', options: {} },
			credentials: { idempotencyPostgresApi: { ...postgresCredential(schema), port: 1 } },
		});
		await expect(guard.execute.call(context)).rejects.toThrow(/The idempotency store failed: Postgres at .*:1 is unavailable/);
		const routed = mockContext({
			items: [lead('a'), lead('b')],
			parameters: { store: 'postgres', namespace, keySource: 'fields', keyFields: 'body.email', options: { onStoreError: 'ambiguous' } },
			credentials: { idempotencyPostgresApi: { ...postgresCredential(schema), port: 1 } },
		});
		const [fresh, , ambiguous] = await guard.execute.call(routed);
		expect(fresh).toHaveLength(0);
		expect(ambiguous.map((i) => meta(i).reason)).toEqual(['store_unavailable', 'store_unavailable']);
	});

	it('refuses a bad option value with a clear error', async () => {
		await expect(run([lead('a')], { options: { leaseSeconds: -5 } })).rejects.toThrow(/Lease \(Seconds\)/);
		await expect(run([lead('a')], { keyFields: ' , ' })).rejects.toThrow(/No key fields are set/);
	});
});
