// The policy BaseStore owns, proven through the real stores: the same input gets the same answer
// on Postgres and on Redis — bad values are refused before anything is written, lists are cut
// into round trips of at most MAX_CHUNK, limits are clamped, a bad cursor is one hinted error.

import { randomUUID } from 'crypto';
import { InvalidInputError } from '../../../nodes/shared/store/errors';
import { RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import { MAX_CHUNK, type ClaimPolicy, type IdempotencyStore, type OpenExceptionRequest } from '../../../nodes/shared/store/types';
import { dropSchema, postgresTestStore, uniqueSchema } from '../../helpers/postgres';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../helpers/redis';
import { actor, basePolicy, transitionRequest } from '../conformance';

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

interface Backend {
	open(): IdempotencyStore;
	cleanup(): Promise<void>;
}

const schema = uniqueSchema('base');
const prefix = uniquePrefix('base');
const backends: Array<[string, Backend]> = [
	['Postgres', { open: () => postgresTestStore(schema), cleanup: () => dropSchema(schema) }],
	[
		'Redis',
		{
			open: () => {
				const url = new URL(REDIS_URL);
				return new RedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });
			},
			cleanup: () => deletePrefix(prefix),
		},
	],
];

/** The error a call throws, or null when it succeeds. */
const failure = (call: Promise<unknown>): Promise<Error | null> => call.then(() => null, (error: Error) => error);

describe.each(backends)('the base store policy on %s', (_name, backend) => {
	let store: IdempotencyStore;
	let ns: string;
	beforeAll(() => {
		store = backend.open();
	});
	afterAll(async () => {
		await store.close();
		await backend.cleanup();
	});
	beforeEach(() => {
		ns = `ns-${randomUUID()}`;
	});

	const claim = (keys: string[], now = T0, policy: ClaimPolicy = basePolicy) =>
		store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), policy, actor, now);

	it('refuses a bad list cursor with one hinted InvalidInputError', async () => {
		await claim(['a', 'b']);
		for (const cursor of ['not-a-cursor', Buffer.from('[1]').toString('base64url'), Buffer.from('["x","k"]').toString('base64url')]) {
			const error = await failure(store.list(ns, { limit: 10, cursor }, T0));
			expect(error).toBeInstanceOf(InvalidInputError);
			expect(error?.message).toBe('The list cursor is not valid');
			expect((error as InvalidInputError).hint).toMatch(/nextCursor of the previous page/);
		}
	});

	it('pages with a cursor of the same form on every store, each key once', async () => {
		const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
		await claim(keys);
		const first = await store.list(ns, { limit: 3 }, T0 + 1);
		expect(first.records.map((r) => r.key)).toEqual(['k0', 'k1', 'k2']);
		expect(JSON.parse(Buffer.from(first.nextCursor!, 'base64url').toString('utf8'))).toEqual([expect.any(Number), 'k2']);
		const second = await store.list(ns, { limit: 3, cursor: first.nextCursor }, T0 + 1);
		expect(second.records.map((r) => r.key)).toEqual(['k3', 'k4', 'k5']);
	});

	it('refuses a claim of more than MAX_CHUNK keys and writes nothing', async () => {
		const keys = Array.from({ length: MAX_CHUNK + 1 }, (_, i) => `k${i}`);
		const error = await failure(claim(keys));
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error?.message).toMatch(new RegExp(`at most ${MAX_CHUNK} keys, got ${MAX_CHUNK + 1}`));
		expect(await store.get(ns, 'k0')).toBeNull();
	});

	it('applies more than MAX_CHUNK transitions in order, in chunks', async () => {
		const count = MAX_CHUNK + 5;
		const requests = Array.from({ length: count }, (_, i) => transitionRequest('markReceived', `r${i}`, null, { verifyClaim: false }));
		const results = await store.transition(ns, requests, actor, T0);
		expect(results).toHaveLength(count);
		expect(results.every((result, i) => result.applied && result.key === `r${i}`)).toBe(true);
		expect((await store.get(ns, `r${count - 1}`))?.state).toBe('received');
	});

	it('records more than MAX_CHUNK distinct exceptions, repeats in the list counted once each', async () => {
		const request = (key: string): OpenExceptionRequest => ({ key, reason: 'lease_expired', owner: '@ops', severity: 'high', route: 'ops' });
		const keys = Array.from({ length: MAX_CHUNK + 2 }, (_, i) => `x${i}`);
		const recorded = await store.recordExceptions(ns, [...keys.map(request), request('x0'), request('x0')], actor, T0);
		expect(recorded).toHaveLength(keys.length + 2);
		expect(recorded[0].occurrences).toBe(3);
		expect(recorded[keys.length]).toEqual(recorded[0]);
		expect(new Set(recorded.map((e) => e.id)).size).toBe(keys.length);
	});

	it('refuses every bad policy choice and number before writing', async () => {
		const bad: Array<Partial<Record<keyof ClaimPolicy, unknown>>> = [
			{ leaseMs: 0 },
			{ leaseMs: Number.NaN },
			{ retentionMs: -1 },
			{ retentionMs: 1e20 },
			{ maxAttempts: 'three' },
			{ onInProgress: 'wait' },
			{ onLeaseExpired: 'never' },
			{ onFailed: 'sometimes' },
			{ onPayloadMismatch: 'merge' },
		];
		for (const change of bad) {
			const error = await failure(claim(['k'], T0, { ...basePolicy, ...change } as ClaimPolicy));
			expect([change, error]).toEqual([change, expect.any(InvalidInputError)]);
		}
		expect(await failure(claim(['k'], Number.POSITIVE_INFINITY))).toBeInstanceOf(InvalidInputError);
		expect(await store.get(ns, 'k')).toBeNull();
	});

	it('refuses unknown transitions, states, severities and resolutions by name', async () => {
		const [decision] = await claim(['k']);
		await expect(store.transition(ns, [transitionRequest('archive' as 'release', 'k', decision.claimToken)], actor, T0 + 1)).rejects.toThrow(/Unknown transition "archive"/);
		await expect(store.list(ns, { limit: 10, state: 'done' as 'processed' }, T0)).rejects.toThrow(/Unknown state "done"/);
		const exception: OpenExceptionRequest = { key: 'k', reason: 'custom', owner: '@ops', severity: 'urgent' as 'high', route: 'ops' };
		await expect(store.recordExceptions(ns, [exception], actor, T0)).rejects.toThrow(/Severity "urgent" is not one of low, medium, high, critical/);
		await expect(
			store.resolveException({ id: null, namespace: ns, key: 'k', resolution: 'later' as 'replay', resolvedBy: null, note: null, resultJson: null }, actor, T0),
		).rejects.toThrow(/Resolution "later" is not one of replay, markProcessed, discard/);
		expect((await store.get(ns, 'k'))?.state).toBe('processing');
		expect(await store.listOpenExceptions({ namespace: ns, limit: 10 }, T0)).toEqual([]);
	});

	it('refuses a result that is not JSON or over 64 KB, and keeps the claim', async () => {
		const [decision] = await claim(['k']);
		for (const resultJson of ['{oops', JSON.stringify({ blob: 'x'.repeat(70_000) })]) {
			const error = await failure(store.transition(ns, [transitionRequest('markProcessed', 'k', decision.claimToken, { resultJson })], actor, T0 + 1));
			expect(error).toBeInstanceOf(InvalidInputError);
		}
		expect((await store.get(ns, 'k'))?.state).toBe('processing');
	});

	it('refuses keys and namespaces that UTF-8 cannot carry, so two keys never become one', async () => {
		expect(await failure(claim(['bad\ud800']))).toBeInstanceOf(InvalidInputError);
		expect(await failure(store.get('ns\udc00', 'k'))).toBeInstanceOf(InvalidInputError);
		expect(await failure(store.get('', 'k'))).toBeInstanceOf(InvalidInputError);
		expect(await store.get(ns, 'bad\ufffd')).toBeNull();
	});

	it('clamps list and exception limits to 1..1000, 0 meaning the default 100', async () => {
		await store.transition(ns, Array.from({ length: 120 }, (_, i) => transitionRequest('markReceived', `r${String(i).padStart(3, '0')}`, null, { verifyClaim: false })), actor, T0);
		expect((await store.list(ns, { limit: 0 }, T0 + 1)).records).toHaveLength(100);
		expect((await store.list(ns, { limit: -5 }, T0 + 1)).records).toHaveLength(1);
		expect((await store.list(ns, { limit: 2.7 }, T0 + 1)).records).toHaveLength(2);
		const page = await store.list(ns, { limit: 5000 }, T0 + 1);
		expect(page.records).toHaveLength(120);
		expect(page.nextCursor).toBeNull();
		const exceptions = Array.from({ length: 3 }, (_, i): OpenExceptionRequest => ({ key: `e${i}`, reason: 'custom', owner: '@ops', severity: 'low', route: 'ops' }));
		await store.recordExceptions(ns, exceptions, actor, T0);
		expect(await store.listOpenExceptions({ namespace: ns, limit: 0 }, T0)).toHaveLength(3);
		expect(await store.listOpenExceptions({ namespace: ns, limit: -1 }, T0)).toHaveLength(1);
	});

	it('combines list filters: stuck claims in a state other than processing are none', async () => {
		await claim(['stuck']);
		const later = T0 + 2 * MINUTE;
		expect((await store.list(ns, { limit: 10, stuckOnly: true }, later)).records.map((r) => r.key)).toEqual(['stuck']);
		expect((await store.list(ns, { limit: 10, stuckOnly: true, state: 'processing' }, later)).records).toHaveLength(1);
		expect((await store.list(ns, { limit: 10, stuckOnly: true, state: 'processed' }, later)).records).toEqual([]);
	});

	it('clamps the feed limit and builds the next position the same way', async () => {
		await claim(['a', 'b', 'c']);
		const query = { namespace: ns, from: { at: T0, after: null }, until: T0 + 2 * MINUTE };
		const page = await store.stuckClaims({ ...query, limit: -3 });
		expect(page.events.map((r) => r.key)).toEqual(['a']);
		expect(page.next).toEqual({ at: T0 + MINUTE, after: [ns, 'a'] });
		const rest = await store.stuckClaims({ ...query, from: page.next, limit: 5000 });
		expect(rest.events.map((r) => r.key)).toEqual(['b', 'c']);
		expect(rest.next).toEqual({ at: query.until, after: null });
		await expect(store.stuckClaims({ ...query, from: { at: Number.NaN, after: null }, limit: 1 })).rejects.toThrow(InvalidInputError);
	});

	it('reads the server clock when no time is given, for reads as for writes', async () => {
		const before = await store.clock();
		const [decision] = await store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor);
		const stats = await store.stats(ns, MINUTE);
		const after = await store.clock();
		expect(decision.firstSeenAt).toBeGreaterThanOrEqual(before);
		expect(stats.until).toBeGreaterThanOrEqual(decision.firstSeenAt);
		expect(stats.until).toBeLessThanOrEqual(after);
		expect(stats.new).toBe(1);
		// The lease is live by the server's clock: nothing is stuck yet.
		expect((await store.list(ns, { limit: 10, stuckOnly: true })).records).toEqual([]);
	});
});
