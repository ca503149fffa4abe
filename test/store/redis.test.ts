// The conformance suite on the real Redis, plus what only the Redis adapter has: the transition
// table against planTransition(), a random walk against the reference engine, the key layout
// (hash tags, hostile namespaces), real TTLs, the indexes behind list/stats/purge, atomicity of a
// failing script, and errors when Redis is down. Every key lives under a prefix unique to this file.

import { randomBytes, randomUUID } from 'crypto';
import { Cluster, Redis } from 'ioredis';
import { decide } from '../../nodes/shared/engine/decide';
import { planTransition } from '../../nodes/shared/engine/transition';
import { IdempotencyError, InvalidInputError, StoreUnavailableError } from '../../nodes/shared/store/errors';
import type { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';
import { NamespaceKeys, namespaceTag, openExceptionsEverywhere } from '../../nodes/shared/store/redis/keys';
import { RedisStore, type RedisStoreConfig } from '../../nodes/shared/store/redis/RedisStore';
import type {
	Actor,
	ClaimPolicy,
	ExceptionRecord,
	HistoryEntry,
	KeyRecord,
	OpenExceptionRequest,
	ResolveExceptionRequest,
	TransitionKind,
	TransitionRequest,
} from '../../nodes/shared/store/types';
import { dropSchema, postgresTestStore, uniqueSchema } from '../helpers/postgres';
import { startLocalCluster, type LocalCluster } from '../helpers/redisCluster';
import { describeStoreConformance, raceRounds } from './conformance';
import { describeExceptionConformance } from './exceptions.conformance';

// Redis Cluster's own slot function (a dependency of ioredis, which routes cluster calls with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterKeySlot = require('cluster-key-slot') as (key: string) => number;

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Test clients end promptly, so that Jest can exit right after the run.
const TEST_CLIENT_OPTIONS = { disconnectTimeout: 100 };
const PREFIX = `test:${randomBytes(4).toString('hex')}:`;

function configFromUrl(url: string, keyPrefix: string): RedisStoreConfig {
	const parsed = new URL(url);
	return {
		host: parsed.hostname,
		port: Number(parsed.port || 6379),
		username: decodeURIComponent(parsed.username) || undefined,
		password: decodeURIComponent(parsed.password) || undefined,
		database: Number(parsed.pathname.replace('/', '') || 0),
		tls: parsed.protocol === 'rediss:',
		keyPrefix,
		mode: 'standalone',
	};
}

const config = configFromUrl(REDIS_URL, PREFIX);
const actor0: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };

const HOSTILE_NAMESPACES = [
	'a}b',
	'}',
	'{',
	'{}',
	'{x}',
	`"'\``,
	'%s%d%%',
	'[.*+?^$()]',
	'a:r:b',
	'~YX0', // the tag of 'a}': as a namespace of its own it must get a different tag
	'ns with spaces',
	'ñ 日本 🧾',
	'x'.repeat(200),
];
const openStore = () => new RedisStore(config);

async function deleteKeys(admin: Redis, pattern: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		if (keys.length) await admin.del(...keys);
	} while (cursor !== '0');
}

async function keysUnder(admin: Redis, pattern: string): Promise<string[]> {
	const found: string[] = [];
	let cursor = '0';
	do {
		const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		found.push(...keys);
	} while (cursor !== '0');
	return found;
}

// Runs last in this file, whichever tests were selected: everything under the prefix goes.
afterAll(async () => {
	const admin = new Redis(REDIS_URL, TEST_CLIENT_OPTIONS);
	await deleteKeys(admin, `${PREFIX}*`);
	await admin.quit();
});

describeStoreConformance('Redis', async () => {
	const store = openStore();
	const peers: RedisStore[] = [];
	return {
		store,
		openPeer: async () => {
			const peer = openStore();
			peers.push(peer);
			return peer;
		},
		cleanup: async () => {
			await Promise.all([store, ...peers].map((s) => s.close()));
		},
	};
});

describeExceptionConformance('Redis', async () => {
	const store = openStore();
	return {
		store,
		openPeer: async () => openStore(),
		cleanup: async () => {
			await store.close();
		},
	};
});

describe('Redis store specifics', () => {
	const MINUTE = 60_000;
	const DAY = 86_400_000;
	const T0 = 1_700_000_000_000;
	const actor: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };
	const basePolicy: ClaimPolicy = {
		leaseMs: MINUTE,
		retentionMs: 0,
		onInProgress: 'ambiguous',
		onLeaseExpired: 'ambiguous',
		onFailed: 'retry',
		maxAttempts: 3,
		onPayloadMismatch: 'ambiguous',
	};
	let admin: Redis;
	let store: RedisStore;
	let ns: string;

	beforeAll(() => {
		admin = new Redis(REDIS_URL, TEST_CLIENT_OPTIONS);
		store = openStore();
	});
	afterAll(async () => {
		await store.close();
		await admin.quit();
	});
	beforeEach(() => {
		ns = `ns-${randomUUID()}`;
	});

	const keysOf = (namespace: string) => new NamespaceKeys(PREFIX, namespace);
	const claimOne = async (key: string, now: number, policy: Partial<ClaimPolicy> = {}, fingerprint: string | null = null) =>
		(await store.claim(ns, [{ key, fingerprint }], { ...basePolicy, ...policy }, actor, now))[0];
	const request = (kind: TransitionKind, key: string, extra: Partial<TransitionRequest> = {}): TransitionRequest => ({
		kind,
		key,
		claimToken: null,
		verifyClaim: true,
		force: false,
		resultJson: null,
		errorMessage: null,
		retentionMs: 0,
		...extra,
	});
	const transitionOne = async (req: TransitionRequest, now: number) => (await store.transition(ns, [req], actor, now))[0];
	const exceptionRequest = (key: string, reason = 'write_timeout', over: Partial<OpenExceptionRequest> = {}): OpenExceptionRequest => ({
		key,
		reason,
		owner: 'ops',
		severity: 'high',
		route: 'Finance',
		...over,
	});
	const resolution = (over: Partial<ResolveExceptionRequest>): ResolveExceptionRequest => ({
		id: null,
		namespace: null,
		key: null,
		resolution: 'discard',
		resolvedBy: null,
		note: null,
		resultJson: null,
		...over,
	});

	describe('claim effects, field by field', () => {
		it('creates a record with every field the claim owns', async () => {
			const d = await claimOne('k', T0, { retentionMs: DAY }, 'fp-1');
			expect(await store.get(ns, 'k')).toEqual<KeyRecord>({
				namespace: ns,
				key: 'k',
				state: 'processing',
				attempt: 1,
				claimToken: d.claimToken,
				fingerprint: 'fp-1',
				result: null,
				lastError: null,
				firstSeenAt: T0,
				lastSeenAt: T0,
				updatedAt: T0,
				leaseUntil: T0 + MINUTE,
				expiresAt: null,
				duplicateCount: 0,
				workflowId: 'wf-1',
				executionId: 'ex-1',
			});
			expect(d.claimToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
		});

		it('keeps firstSeenAt, duplicateCount and lastError and takes the stored fingerprint on a retry', async () => {
			const first = await claimOne('k', T0, {}, null);
			await transitionOne(request('markFailed', 'k', { claimToken: first.claimToken, errorMessage: 'boom' }), T0 + 1);
			const other: Actor = { workflowId: 'wf-2', executionId: 'ex-2', node: 'Guard 2' };
			const [retry] = await store.claim(ns, [{ key: 'k', fingerprint: 'fp-late' }], basePolicy, other, T0 + 10);
			expect(retry).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 2, firstSeenAt: T0, lastSeenAt: T0 + 10 });
			expect(await store.get(ns, 'k')).toMatchObject({
				state: 'processing',
				attempt: 2,
				claimToken: retry.claimToken,
				fingerprint: 'fp-late',
				lastError: 'boom',
				firstSeenAt: T0,
				updatedAt: T0 + 10,
				leaseUntil: T0 + 10 + MINUTE,
				expiresAt: null,
				workflowId: 'wf-2',
				executionId: 'ex-2',
			});
		});

		it('changes only lastSeenAt (and duplicateCount for duplicates) on a seen decision', async () => {
			await claimOne('k', T0);
			const before = await store.get(ns, 'k');
			await claimOne('k', T0 + 5);
			expect(await store.get(ns, 'k')).toEqual({ ...before, lastSeenAt: T0 + 5 });
		});

		it('changes nothing and writes no history on a wait poll', async () => {
			await claimOne('k', T0);
			const before = await store.get(ns, 'k');
			const poll = await claimOne('k', T0 + 5, { onInProgress: 'pending' });
			expect(poll).toMatchObject({ outcome: 'pending', reason: 'in_progress', claimToken: null, lastSeenAt: T0 });
			expect(await store.get(ns, 'k')).toEqual(before);
			expect(await store.history(ns, 'k')).toHaveLength(1);
		});

		it('records in-batch repeats as history only, after the decision', async () => {
			await store.claim(ns, [{ key: 'k', fingerprint: 'a', repeats: { duplicates: 1, mismatches: 2 } }], basePolicy, actor, T0);
			expect((await store.history(ns, 'k')).map((h) => `${h.event}:${h.reason}`)).toEqual([
				'claimed:first_seen',
				'duplicate_seen:duplicate_in_batch',
				'ambiguous_seen:duplicate_in_batch',
				'ambiguous_seen:duplicate_in_batch',
			]);
			expect((await store.get(ns, 'k'))?.duplicateCount).toBe(0);
		});

		it('decides a key repeated inside one chunk in order (the second sees the first claim)', async () => {
			const decisions = await store.claim(ns, [{ key: 'k', fingerprint: null }, { key: 'k', fingerprint: null }], basePolicy, actor, T0);
			expect(decisions.map((d) => d.outcome)).toEqual(['new', 'ambiguous']);
		});
	});

	describe('transitions agree with planTransition()', () => {
		type Setup = 'none' | 'received' | 'processing' | 'processed' | 'failed' | 'expired';
		const setups: Setup[] = ['none', 'received', 'processing', 'processed', 'failed', 'expired'];
		const kinds: TransitionKind[] = ['markProcessed', 'markFailed', 'markReceived', 'release'];
		const tokens = ['own', 'other', 'none'] as const;

		async function prepare(key: string, setup: Setup): Promise<string | null> {
			if (setup === 'none') return null;
			if (setup === 'received') {
				await transitionOne(request('markReceived', key, { retentionMs: DAY }), T0);
				return null;
			}
			const d = await claimOne(key, T0, { retentionMs: setup === 'expired' ? 100 : DAY });
			if (setup === 'processing') return d.claimToken;
			const kind = setup === 'failed' ? 'markFailed' : 'markProcessed';
			await transitionOne(request(kind, key, { claimToken: d.claimToken, resultJson: '{"id":1}', errorMessage: 'e' }), T0 + 1);
			return d.claimToken;
		}

		for (const setup of setups) {
			it(`applies every transition to a ${setup} key exactly as planned`, async () => {
				const now = T0 + 1000;
				let n = 0;
				for (const kind of kinds) {
					for (const token of tokens) {
						for (const verifyClaim of [true, false]) {
							for (const force of [false, true]) {
								const key = `${setup}-${n++}`;
								const own = await prepare(key, setup);
								const claimToken = token === 'own' ? own : token === 'other' ? randomUUID() : null;
								const req = request(kind, key, { claimToken, verifyClaim, force, resultJson: '{"r":2}', errorMessage: 'bad', retentionMs: 5 * MINUTE });
								const before = await store.get(ns, key);
								const historyBefore = await store.history(ns, key);
								const plan = planTransition(before, req, now);
								const result = await transitionOne(req, now);
								const after = await store.get(ns, key);
								const history = await store.history(ns, key);
								const label = { setup, kind, token, verifyClaim, force };
								// Fencing: a stale worker's token never releases a key, whatever its state.
								if (kind === 'release' && token === 'other' && verifyClaim && !force && setup !== 'none' && setup !== 'expired') {
									expect({ ...label, rejectReason: result.rejectReason }).toEqual({ ...label, rejectReason: 'claim_lost' });
								}

								expect({ ...label, applied: result.applied, noop: result.noop, rejectReason: result.rejectReason }).toEqual({
									...label,
									applied: plan.action !== 'reject',
									noop: plan.action === 'noop',
									rejectReason: plan.rejectReason,
								});
								if (plan.action === 'reject' || plan.action === 'noop') {
									expect(after).toEqual(before);
									expect(history).toEqual(historyBefore);
									const live = before && !(before.expiresAt !== null && before.expiresAt <= now) ? before : null;
									expect(result.record).toEqual(live);
									continue;
								}
								expect(history).toHaveLength(historyBefore.length + 1);
								const event = history[history.length - 1];
								expect(event).toMatchObject({ at: now, event: plan.event, workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' });
								const live = before && !(before.expiresAt !== null && before.expiresAt <= now) ? before : null;
								if (plan.event === 'forced') {
									expect(event.reason).toBe(kind);
									expect(event.detail).toEqual({ from: live?.state ?? null, to: plan.state ?? 'released', kind });
								} else {
									expect(event.reason).toBeNull();
									expect(event.detail).toBeNull();
								}
								if (plan.action === 'delete') {
									expect(after).toBeNull();
									expect(result.record).toBeNull();
									continue;
								}
								expect(result.record).toEqual(after);
								expect(after).toMatchObject({ state: plan.state, updatedAt: now, leaseUntil: null });
								const settles = plan.state === 'processed' || plan.state === 'failed';
								if (plan.action === 'create') {
									expect(after).toMatchObject({ attempt: 0, claimToken: null, fingerprint: null, firstSeenAt: now, lastSeenAt: now, duplicateCount: 0 });
									expect(after?.expiresAt).toBe(settles ? now + 5 * MINUTE : null);
									expect(after?.result).toEqual(plan.state === 'processed' ? { r: 2 } : null);
									expect(after?.lastError).toBe(plan.state === 'failed' ? 'bad' : null);
								} else {
									// A claimed record keeps the retention its claim set.
									expect(after?.expiresAt).toBe(settles ? now + DAY : null);
									expect(after?.claimToken).toBe(before?.claimToken);
									expect(after?.attempt).toBe(before?.attempt);
									if (plan.state === 'processed') expect(after?.result).toEqual({ r: 2 });
									if (plan.state === 'failed') expect(after?.lastError).toBe('bad');
								}
							}
						}
					}
				}
			});
		}

		it('applies a list of transitions in order in one call', async () => {
			const d = await claimOne('k', T0);
			const results = await store.transition(
				ns,
				[
					request('markProcessed', 'k', { claimToken: d.claimToken, resultJson: '{"a":1}' }),
					request('markProcessed', 'k', { claimToken: d.claimToken, resultJson: '{"a":2}' }),
					request('release', 'k'),
					request('markProcessed', 'k', { claimToken: d.claimToken }),
				],
				actor,
				T0 + 1,
			);
			expect(results.map((r) => [r.applied, r.noop, r.rejectReason])).toEqual([
				[true, false, null],
				[true, true, null],
				[true, false, null],
				[false, false, 'not_found'],
			]);
			expect(results[1].record?.result).toEqual({ a: 1 });
		});

		it('refuses an unknown transition kind before writing anything', async () => {
			await expect(
				store.transition(ns, [request('markReceived', 'a'), request('explode' as TransitionKind, 'b')], actor, T0),
			).rejects.toThrow(InvalidInputError);
			expect(await store.get(ns, 'a')).toBeNull();
		});
	});

	describe('agrees with the reference engine on a random walk', () => {
		it('decides and transitions 600 random steps like decide() and planTransition()', async () => {
			let seed = 42;
			const rand = () => {
				seed = (seed * 1103515245 + 12345) % 2147483648;
				return seed / 2147483648;
			};
			const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)];
			const keys = ['a', 'b', 'c'];
			const tokens = new Map<string, string | null>();
			let now = T0;
			for (let step = 0; step < 600; step++) {
				now += pick([0, 1, 500, MINUTE, 2 * MINUTE, DAY]);
				const key = pick(keys);
				const before = await store.get(ns, key);
				if (rand() < 0.55) {
					const policy: ClaimPolicy = {
						leaseMs: pick([MINUTE, 3 * MINUTE]),
						retentionMs: pick([0, DAY, 2 * DAY]),
						onInProgress: pick(['ambiguous', 'duplicate', 'pending'] as const),
						onLeaseExpired: pick(['ambiguous', 'reclaim'] as const),
						onFailed: pick(['retry', 'ambiguous'] as const),
						maxAttempts: pick([1, 2, 3, 5]),
						onPayloadMismatch: pick(['ambiguous', 'duplicate'] as const),
					};
					const fingerprint = pick([null, 'x', 'y']);
					const expected = decide({ record: before, fingerprint, now, policy });
					const [d] = await store.claim(ns, [{ key, fingerprint }], policy, actor, now);
					expect({ step, outcome: d.outcome, reason: d.reason, state: d.state }).toEqual({
						step,
						outcome: expected.outcome,
						reason: expected.reason,
						state: expected.state,
					});
					const after = await store.get(ns, key);
					if (expected.effect === 'create') expect(after).toMatchObject({ attempt: 1, firstSeenAt: now, duplicateCount: 0 });
					if (expected.effect === 'claim') expect(after?.attempt).toBe((before?.attempt ?? 0) + 1);
					if (expected.effect === 'none') expect(after).toEqual(before);
					if (expected.effect === 'seen') {
						expect(after).toEqual({
							...before,
							lastSeenAt: now,
							duplicateCount: (before?.duplicateCount ?? 0) + (d.outcome === 'duplicate' ? 1 : 0),
						});
					}
					if (d.claimToken) tokens.set(key, d.claimToken);
				} else {
					const kind = pick(['markProcessed', 'markFailed', 'markReceived', 'release'] as const);
					const claimToken = pick([tokens.get(key) ?? null, null, 'stale']);
					const req = request(kind, key, { claimToken, verifyClaim: rand() < 0.8, force: rand() < 0.1, retentionMs: pick([0, DAY]) });
					const plan = planTransition(before, req, now);
					const result = await transitionOne(req, now);
					expect({ step, applied: result.applied, noop: result.noop, rejectReason: result.rejectReason }).toEqual({
						step,
						applied: plan.action !== 'reject',
						noop: plan.action === 'noop',
						rejectReason: plan.rejectReason,
					});
					expect((await store.get(ns, key))?.state ?? null).toBe(plan.action === 'delete' ? null : plan.state ?? before?.state ?? null);
				}
			}
		});
	});

	describe('exception queue', () => {
		const everywhere = openExceptionsEverywhere(PREFIX);

		it('gives ids `<uuid>.<namespace tag>` that find the exception without its namespace', async () => {
			for (const namespace of ['crm.leads-2', 'a}b', 'ñ 日本 🧾']) {
				const [exception] = await store.recordExceptions(namespace, [exceptionRequest(`k-${ns}`)], actor, T0);
				expect(exception.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_.~-]+$/);
				expect(exception.id.slice(37)).toBe(namespaceTag(namespace));
				expect(await store.getException(exception.id)).toEqual(exception);
				// Pasted with a capitalised uuid or surrounding blanks, it is the same id.
				expect(await store.getException(` ${exception.id.slice(0, 36).toUpperCase()}${exception.id.slice(36)} `)).toEqual(exception);
			}
		});

		it('treats text that is no id, or no exception’s id, as nothing to find or resolve', async () => {
			const uuid = randomUUID();
			const [real] = await store.recordExceptions(ns, [exceptionRequest('k')], actor, T0);
			const ids = ['', 'not-an-id', uuid, `${uuid}.`, `${uuid}.a b`, `${uuid}.~!!`, `${uuid}.~_w`, `${uuid}.~YX0`, `${uuid}.${namespaceTag(ns)}`, `${real.id.slice(0, 36)}.other-ns`, `${real.id}x`, 'x'.repeat(10_000)];
			for (const id of ids) {
				expect({ id, found: await store.getException(id) }).toEqual({ id, found: null });
				expect({ id, resolved: await store.resolveException(resolution({ id, resolution: 'replay' }), actor, T0 + 1) }).toEqual({ id, resolved: { exceptions: [], record: null } });
			}
			expect((await store.getException(real.id))?.status).toBe('open');
			await expect(store.resolveException(resolution({ id: real.id, resolution: 'later' as 'replay' }), actor, T0)).rejects.toThrow(InvalidInputError);
			await expect(store.resolveException(resolution({ id: real.id, resolution: 'markProcessed', resultJson: '{oops' }), actor, T0)).rejects.toThrow(InvalidInputError);
			await expect(store.recordExceptions(ns, [exceptionRequest('k', 'r', { severity: 'urgent' as 'high' })], actor, T0)).rejects.toThrow(InvalidInputError);
			expect((await store.getException(real.id))?.status).toBe('open');
		});

		it('writes the resolution into the key’s history exactly like Postgres does', async () => {
			const d = await claimOne('r', T0, { leaseMs: 1 });
			const [replayed] = await store.recordExceptions(ns, [exceptionRequest('r')], actor, T0 + 1);
			await store.resolveException(resolution({ id: replayed.id, resolution: 'replay', resolvedBy: 'jane' }), actor, T0 + 2);
			expect((await store.history(ns, 'r')).pop()).toEqual<HistoryEntry>({
				at: T0 + 2, event: 'released', reason: 'replay', workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard',
				detail: { resolution: 'replay', exceptionIds: [replayed.id], resolvedBy: 'jane', note: null },
			});
			expect(d.outcome).toBe('new');

			await claimOne('m', T0, { retentionMs: DAY });
			const two = await store.recordExceptions(ns, [exceptionRequest('m', 'in_progress'), exceptionRequest('m', 'lease_expired')], actor, T0 + 1);
			const done = await store.resolveException(resolution({ namespace: ns, key: 'm', resolution: 'markProcessed', note: 'posted by hand', resultJson: '{"id":9}' }), actor, T0 + 3);
			expect(done.exceptions.map((e) => e.id).sort()).toEqual(two.map((e) => e.id).sort());
			expect(done.record).toMatchObject({ state: 'processed', attempt: 1, result: { id: 9 }, expiresAt: T0 + 3 + DAY, leaseUntil: null });
			const forced = (await store.history(ns, 'm')).pop();
			expect(forced).toMatchObject({ event: 'forced', reason: 'markProcessed' });
			expect(forced?.detail).toEqual({ from: 'processing', to: 'processed', kind: 'markProcessed', resolution: 'markProcessed', exceptionIds: done.exceptions.map((e) => e.id), resolvedBy: null, note: 'posted by hand' });

			const [discarded] = await store.recordExceptions(ns, [exceptionRequest('m')], actor, T0 + 4);
			const left = await store.resolveException(resolution({ id: discarded.id, resolution: 'discard', resolvedBy: 'ops' }), actor, T0 + 5);
			expect(left.record).toEqual(await store.get(ns, 'm'));
			expect((await store.history(ns, 'm')).pop()?.detail).toEqual({ from: 'processed', to: 'processed', kind: 'discard', resolution: 'discard', exceptionIds: [discarded.id], resolvedBy: 'ops', note: null });
		});

		it('acts on a key without a record: markProcessed creates it (attempt 0, 30 days), replay finds nothing to release', async () => {
			const [a, b, c] = await store.recordExceptions(ns, [exceptionRequest('new'), exceptionRequest('nothing'), exceptionRequest('unseen')], actor, T0);
			const created = await store.resolveException(resolution({ id: a.id, resolution: 'markProcessed', resultJson: '{"ok":1}' }), actor, T0 + 1);
			expect(created.record).toMatchObject({ state: 'processed', attempt: 0, claimToken: null, result: { ok: 1 }, firstSeenAt: T0 + 1, expiresAt: T0 + 1 + 30 * DAY });
			expect((await store.list(ns, { state: 'processed', limit: 10 }, T0 + 2)).records.map((r) => r.key)).toEqual(['new']);
			const replayed = await store.resolveException(resolution({ id: b.id, resolution: 'replay' }), actor, T0 + 1);
			expect(replayed).toMatchObject({ exceptions: [{ status: 'resolved' }], record: null });
			expect(await store.history(ns, 'nothing')).toEqual([]);
			const discarded = await store.resolveException(resolution({ id: c.id, resolution: 'discard' }), actor, T0 + 1);
			expect(discarded.record).toBeNull();
			expect((await store.history(ns, 'unseen')).map((h) => [h.event, h.reason, h.detail?.from])).toEqual([['forced', 'discard', null]]);
			// The history of a key that has no record does not stay in Redis for good.
			expect(await admin.pttl(keysOf(ns).history('unseen'))).toBeGreaterThan(30 * DAY);
		});

		it('counts a replay as released and open exceptions in stats, and keeps the indexes in step', async () => {
			const d = await claimOne('k', T0, { retentionMs: DAY });
			await transitionOne(request('markProcessed', 'k', { claimToken: d.claimToken }), T0 + 1);
			const [exception] = await store.recordExceptions(ns, [exceptionRequest('k'), exceptionRequest('j')], actor, T0 + 2);
			expect((await store.stats(ns, 3_600_000, T0 + 3)).openExceptions).toBe(2);
			await store.resolveException(resolution({ id: exception.id, resolution: 'replay' }), actor, T0 + 4);
			expect(await store.stats(ns, 3_600_000, T0 + 5)).toMatchObject({ new: 1, processed: 1, released: 1, openExceptions: 1 });
			for (const index of [keysOf(ns).keysIndex, keysOf(ns).stateIndex('processed'), keysOf(ns).expiryIndex]) {
				expect(await admin.zscore(index, 'k')).toBeNull();
			}
			expect(await admin.zrange(keysOf(ns).openExceptionsIndex, 0, -1)).toHaveLength(1);
			expect(await admin.zscore(everywhere, exception.id)).toBeNull();
		});

		it('lists across namespaces from an index that drops stale ids and is rewritten by the next occurrence', async () => {
			const other = `${ns}-other`;
			const [a] = await store.recordExceptions(ns, [exceptionRequest('a', 'r', { owner: ns })], actor, T0 - 2000);
			const [b] = await store.recordExceptions(other, [exceptionRequest('b', 'r', { owner: ns })], actor, T0 - 1000);
			const [c] = await store.recordExceptions(ns, [exceptionRequest('c', 'r', { owner: ns })], actor, T0);
			const listed = async (query: Partial<Parameters<RedisStore['listOpenExceptions']>[0]> = {}) =>
				(await store.listOpenExceptions({ owner: ns, limit: 10, ...query }, T0 + 1)).map((e) => e.key);
			expect(await listed()).toEqual(['a', 'b', 'c']);
			expect(await listed({ olderThanMs: 1000 })).toEqual(['a', 'b']);
			expect(await listed({ limit: 1 })).toEqual(['a']);
			expect(await listed({ namespace: other })).toEqual(['b']);

			// What a failed best-effort write leaves behind: a resolved id still indexed, an unknown id.
			await store.resolveException(resolution({ id: a.id, resolution: 'discard' }), actor, T0 + 1);
			const unknown = `${randomUUID()}.${namespaceTag(ns)}`;
			await admin.zadd(everywhere, T0 - 3000, a.id, T0 - 3000, unknown);
			expect(await listed()).toEqual(['b', 'c']);
			expect(await admin.zscore(everywhere, a.id)).toBeNull();
			expect(await admin.zscore(everywhere, unknown)).toBeNull();

			// The index write after the script was lost: the namespace still knows, and a repeat heals it.
			await admin.zrem(everywhere, b.id);
			expect(await listed()).toEqual(['c']);
			expect(await listed({ namespace: other })).toEqual(['b']);
			const [again] = await store.recordExceptions(other, [exceptionRequest('b', 'r', { owner: ns })], actor, T0 + 2);
			expect(again).toMatchObject({ id: b.id, occurrences: 2 });
			expect(await listed()).toEqual(['b', 'c']);
			expect(c.status).toBe('open');
		});

		it('resolves nothing and changes nothing when a script fails part way (a foreign key in the way)', async () => {
			await claimOne('k', T0);
			const [exception] = await store.recordExceptions(ns, [exceptionRequest('k')], actor, T0 + 1);
			await admin.set(keysOf(ns).history('k'), 'not a list');
			await expect(store.resolveException(resolution({ id: exception.id, resolution: 'replay' }), actor, T0 + 2)).rejects.toThrow(IdempotencyError);
			expect(await store.getException(exception.id)).toEqual(exception);
			expect((await store.get(ns, 'k'))?.state).toBe('processing');

			await admin.set(keysOf(ns).openExceptions('blocked'), 'not a hash');
			await expect(store.recordExceptions(ns, [exceptionRequest('first'), exceptionRequest('blocked')], actor, T0 + 3)).rejects.toThrow(IdempotencyError);
			expect(await store.listOpenExceptions({ namespace: ns, limit: 10 }, T0 + 4)).toEqual([exception]);
		});
	});

	describe('retention and real TTLs', () => {
		it('forgets a settled record logically at expiresAt and gives record and history a real TTL', async () => {
			const d = await claimOne('k', T0, { retentionMs: 10_000 });
			expect(await admin.pttl(keysOf(ns).record('k'))).toBe(-1);
			await transitionOne(request('markProcessed', 'k', { claimToken: d.claimToken, resultJson: '{"id":7}' }), T0 + 100);
			for (const key of [keysOf(ns).record('k'), keysOf(ns).history('k')]) {
				const ttl = await admin.pttl(key);
				expect(ttl).toBeGreaterThan(DAY);
				expect(ttl).toBeLessThanOrEqual(DAY + 10_000);
			}
			expect(await claimOne('k', T0 + 10_099)).toMatchObject({ outcome: 'duplicate', result: { id: 7 } });
			const again = await claimOne('k', T0 + 10_100);
			expect(again).toMatchObject({ outcome: 'new', reason: 'first_seen', attempt: 1, result: null });
			expect(await admin.pttl(keysOf(ns).record('k'))).toBe(-1);
			expect(await admin.pttl(keysOf(ns).history('k'))).toBe(-1);
			expect((await store.history(ns, 'k')).map((h) => h.event)).toEqual(['claimed', 'processed', 'duplicate_seen', 'claimed']);
			const record = await store.get(ns, 'k');
			expect(record).toMatchObject({ duplicateCount: 0, result: null, expiresAt: null, firstSeenAt: T0 + 10_100 });
		});

		it('removes the TTL when a settled record is claimed again (retry after failure)', async () => {
			const d = await claimOne('k', T0, { retentionMs: DAY });
			await transitionOne(request('markFailed', 'k', { claimToken: d.claimToken }), T0 + 1);
			expect(await admin.pttl(keysOf(ns).record('k'))).toBeGreaterThan(DAY);
			expect(await claimOne('k', T0 + 2)).toMatchObject({ outcome: 'new', reason: 'retry_after_failure' });
			expect(await admin.pttl(keysOf(ns).record('k'))).toBe(-1);
			expect(await admin.pttl(keysOf(ns).history('k'))).toBe(-1);
			expect((await store.get(ns, 'k'))?.expiresAt).toBeNull();
			expect(await admin.zscore(keysOf(ns).expiryIndex, 'k')).toBeNull();
		});

		it('keeps no TTL with retention 0 and gives a released key history the record retention', async () => {
			const d = await claimOne('forever', T0, { retentionMs: 0 });
			await transitionOne(request('markProcessed', 'forever', { claimToken: d.claimToken }), T0 + 1);
			expect(await admin.pttl(keysOf(ns).record('forever'))).toBe(-1);
			const e = await claimOne('gone', T0, { retentionMs: 5000 });
			await transitionOne(request('release', 'gone', { claimToken: e.claimToken }), T0 + 1);
			expect(await admin.exists(keysOf(ns).record('gone'))).toBe(0);
			const ttl = await admin.pttl(keysOf(ns).history('gone'));
			expect(ttl).toBeGreaterThan(DAY);
			expect(ttl).toBeLessThanOrEqual(DAY + 5000);
		});
	});

	describe('list', () => {
		const collect = async (query: Parameters<RedisStore['list']>[1], now: number) => {
			const pages: string[][] = [];
			let cursor: string | null = null;
			do {
				const page = await store.list(ns, { ...query, cursor }, now);
				pages.push(page.records.map((r) => r.key));
				cursor = page.nextCursor;
			} while (cursor && pages.length < 50);
			return pages;
		};

		it('pages through 250 keys claimed at the same moment, by state and by key, without gaps or repeats', async () => {
			const keys = Array.from({ length: 250 }, (_, i) => `k-${String(i).padStart(3, '0')}`);
			await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0);
			for (const query of [{ limit: 100 }, { limit: 100, state: 'processing' as const }, { limit: 100, stuckOnly: true }]) {
				const pages = await collect(query, T0 + 2 * MINUTE);
				expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
				expect(pages.flat().sort()).toEqual(keys);
			}
			expect((await store.list(ns, { limit: 250 }, T0)).nextCursor).toBeNull();
			expect((await store.list(ns, { limit: 0 }, T0)).records).toHaveLength(100);
		});

		it('filters by state, stuck leases and age', async () => {
			const a = await claimOne('a', T0, { leaseMs: MINUTE });
			await claimOne('b', T0 + 10, { leaseMs: 10 * MINUTE });
			await claimOne('c', T0 + 20, { leaseMs: MINUTE });
			await transitionOne(request('markProcessed', 'a', { claimToken: a.claimToken }), T0 + 30);
			await transitionOne(request('markReceived', 'd'), T0 + 40);
			const now = T0 + 2 * MINUTE;
			const keysOfPage = async (query: Parameters<RedisStore['list']>[1]) =>
				(await store.list(ns, query, now)).records.map((r) => r.key);
			expect(await keysOfPage({ limit: 10 })).toEqual(['a', 'b', 'c', 'd']);
			expect(await keysOfPage({ limit: 10, state: 'processing' })).toEqual(['b', 'c']);
			expect(await keysOfPage({ limit: 10, stuckOnly: true })).toEqual(['c']);
			expect(await keysOfPage({ limit: 10, stuckOnly: true, state: 'processed' })).toEqual([]);
			expect(await keysOfPage({ limit: 10, state: 'processed' })).toEqual(['a']);
			expect(await keysOfPage({ limit: 10, olderThanMs: now - (T0 + 15) })).toEqual(['b']);
			expect(await keysOfPage({ limit: 10, state: 'processing', olderThanMs: now - (T0 + 20) })).toEqual(['b', 'c']);
			expect(await keysOfPage({ limit: 10, state: 'processing', olderThanMs: now - (T0 + 19) })).toEqual(['b']);
		});

		it('continues after a cursor whose record has moved since', async () => {
			const keys = ['a', 'b', 'c', 'd'];
			const tokens = new Map<string, string | null>();
			for (const key of keys) tokens.set(key, (await claimOne(key, T0)).claimToken);
			const first = await store.list(ns, { limit: 2, state: 'processing' }, T0);
			expect(first.records.map((r) => r.key)).toEqual(['a', 'b']);
			await transitionOne(request('markProcessed', 'b', { claimToken: tokens.get('b') }), T0 + 1);
			const second = await store.list(ns, { limit: 2, state: 'processing', cursor: first.nextCursor }, T0 + 1);
			expect(second.records.map((r) => r.key)).toEqual(['c', 'd']);
			expect(second.nextCursor).toBeNull();
		});

		it('skips records past retention and drops index entries of records Redis has expired', async () => {
			const d = await claimOne('old', T0, { retentionMs: 1000 });
			await transitionOne(request('markProcessed', 'old', { claimToken: d.claimToken }), T0);
			await claimOne('vanished', T0);
			await claimOne('kept', T0);
			await admin.del(keysOf(ns).record('vanished')); // what a real TTL does
			const page = await store.list(ns, { limit: 10 }, T0 + 1000);
			expect(page.records.map((r) => r.key)).toEqual(['kept']);
			expect(await admin.zscore(keysOf(ns).keysIndex, 'vanished')).toBeNull();
			expect(await admin.zscore(keysOf(ns).leaseIndex, 'vanished')).toBeNull();
			expect(await admin.zscore(keysOf(ns).stateIndex('processing'), 'vanished')).toBeNull();
			expect(await admin.zscore(keysOf(ns).keysIndex, 'old')).not.toBeNull();
		});

		it('returns a short page with a cursor when it had to skip many entries', async () => {
			const keys = Array.from({ length: 1200 }, (_, i) => `e-${String(i).padStart(4, '0')}`);
			const decisions = [];
			for (let i = 0; i < keys.length; i += 600) {
				const chunk = keys.slice(i, i + 600).map((key) => ({ key, fingerprint: null }));
				decisions.push(...(await store.claim(ns, chunk, { ...basePolicy, retentionMs: 1 }, actor, T0)));
			}
			// All 1200 settle with a 1 ms retention: past retention at T0 + 10, still in the index.
			await store.transition(ns, decisions.map((d) => request('markProcessed', d.key, { claimToken: d.claimToken })), actor, T0 + 2);
			await claimOne('z-live', T0 + 5);
			const first = await store.list(ns, { limit: 10 }, T0 + 10);
			expect(first.records).toEqual([]);
			expect(first.nextCursor).not.toBeNull();
			const second = await store.list(ns, { limit: 10, cursor: first.nextCursor }, T0 + 10);
			expect(second.records.map((r) => r.key)).toEqual(['z-live']);
			expect(second.nextCursor).toBeNull();
		});

		it('refuses a cursor it did not make', async () => {
			await expect(store.list(ns, { limit: 10, cursor: 'not-a-cursor' }, T0)).rejects.toThrow(InvalidInputError);
		});
	});

	describe('stats', () => {
		it('counts decisions and transitions per hour, by ambiguous reason', async () => {
			const a = await claimOne('a', T0, {}, 'fp');
			await claimOne('a', T0 + 1); // ambiguous in_progress
			await claimOne('a', T0 + 2, { onInProgress: 'pending' }); // not counted
			await transitionOne(request('markProcessed', 'a', { claimToken: a.claimToken }), T0 + 3);
			await claimOne('a', T0 + 4); // duplicate
			await claimOne('a', T0 + 5, {}, 'other'); // ambiguous payload_mismatch
			const b = await claimOne('b', T0 + 6);
			await transitionOne(request('markFailed', 'b', { claimToken: b.claimToken }), T0 + 7);
			await claimOne('b', T0 + 8); // new (retry)
			await transitionOne(request('release', 'b', { claimToken: null, verifyClaim: false }), T0 + 9);
			await transitionOne(request('markProcessed', 'c', { force: true }), T0 + 10); // forced: not counted
			await store.claim(ns, [{ key: 'd', fingerprint: null, repeats: { duplicates: 2, mismatches: 1 } }], basePolicy, actor, T0 + 11);

			expect(await store.stats(ns, 3_600_000, T0 + 20)).toEqual({
				namespace: ns,
				since: T0 + 20 - 3_600_000,
				until: T0 + 20,
				new: 4,
				duplicate: 3,
				ambiguous: 3,
				ambiguousByReason: { in_progress: 1, payload_mismatch: 1, duplicate_in_batch: 1 },
				processed: 1,
				failed: 1,
				released: 1,
				openExceptions: 0,
			});
			const later = await store.stats(ns, 3_600_000, T0 + 3 * 3_600_000);
			expect(later).toMatchObject({ new: 0, duplicate: 0, ambiguous: 0, processed: 0 });
			const wide = await store.stats(ns, 24 * 3_600_000, T0 + 3 * 3_600_000);
			expect(wide.new).toBe(4);
		});
	});

	describe('purge', () => {
		it('deletes records past retention with their history and index entries, and nothing else', async () => {
			for (const key of ['p1', 'p2', 'p3']) {
				const d = await claimOne(key, T0, { retentionMs: 1000 });
				await claimOne(key, T0 + 1);
				await transitionOne(request('markProcessed', key, { claimToken: d.claimToken }), T0 + 2);
			}
			const f = await claimOne('forever', T0, { retentionMs: 0 });
			await transitionOne(request('markProcessed', 'forever', { claimToken: f.claimToken }), T0 + 2);
			const later = await claimOne('later', T0, { retentionMs: DAY });
			await transitionOne(request('markFailed', 'later', { claimToken: later.claimToken }), T0 + 2);
			await claimOne('running', T0);

			expect(await store.purge(ns, T0 + 500)).toEqual({ records: 0, history: 0 });
			expect(await store.purge(ns, T0 + 5000)).toEqual({ records: 3, history: 9 });
			for (const key of ['p1', 'p2', 'p3']) {
				expect(await store.get(ns, key)).toBeNull();
				expect(await store.history(ns, key)).toEqual([]);
			}
			for (const key of ['forever', 'later', 'running']) expect(await store.get(ns, key)).not.toBeNull();
			expect(await admin.zrange(keysOf(ns).expiryIndex, 0, -1)).toEqual(['later']);
			expect(await admin.zrange(keysOf(ns).keysIndex, 0, -1)).toEqual(['forever', 'later', 'running']);
			expect(await admin.zcard(keysOf(ns).stateIndex('processed'))).toBe(1);
			expect(await store.purge(ns, T0 + 5000)).toEqual({ records: 0, history: 0 });
		});

		it('purges more than one batch', async () => {
			const keys = Array.from({ length: 1100 }, (_, i) => `m-${i}`);
			const decisions = [
				...(await store.claim(ns, keys.slice(0, 1000).map((key) => ({ key, fingerprint: null })), { ...basePolicy, retentionMs: 10 }, actor, T0)),
				...(await store.claim(ns, keys.slice(1000).map((key) => ({ key, fingerprint: null })), { ...basePolicy, retentionMs: 10 }, actor, T0)),
			];
			await store.transition(ns, decisions.map((d) => request('markFailed', d.key, { claimToken: d.claimToken })), actor, T0 + 1);
			expect(await store.purge(ns, T0 + 100)).toEqual({ records: 1100, history: 2200 });
			expect(await keysUnder(admin, `${PREFIX}{${namespaceTag(ns)}}:r:*`)).toEqual([]);
		});
	});

	describe('key layout', () => {
		it('keeps every key of a namespace in one cluster slot, for any namespace', async () => {
			for (const namespace of HOSTILE_NAMESPACES) {
				const [d] = await store.claim(namespace, [{ key: 'k}{', fingerprint: null }, { key: 'other', fingerprint: null }], { ...basePolicy, retentionMs: DAY }, actor, T0);
				await store.transition(namespace, [request('markProcessed', 'k}{', { claimToken: d.claimToken })], actor, T0 + 1);
				const [exception] = await store.recordExceptions(namespace, [exceptionRequest('k}{'), exceptionRequest('other')], actor, T0 + 2);
				await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 3);
				const prefix = `${PREFIX}{${namespaceTag(namespace)}}`.replace(/[*?[\]\\]/g, '\\$&');
				const created = await keysUnder(admin, `${prefix}*`);
				// records, histories, indexes, stats, exceptions (x:, xo:, xid: per exception)
				expect(created.length).toBeGreaterThanOrEqual(15);
				expect(new Set(created.map((key) => clusterKeySlot(key))).size).toBe(1);
				expect(clusterKeySlot(created[0])).toBe(clusterKeySlot(`{${namespaceTag(namespace)}}`));
			}
		});

		it('keeps hostile namespaces apart from each other', async () => {
			const token = randomUUID();
			const names = [...HOSTILE_NAMESPACES.map((n) => `${n}${token}`), `a}${token}`, `~${Buffer.from(`a}${token}`).toString('base64url')}`];
			for (const name of names) {
				const [d] = await store.claim(name, [{ key: 'same', fingerprint: null }], basePolicy, actor, T0);
				expect({ name, outcome: d.outcome }).toEqual({ name, outcome: 'new' });
			}
		});

		it('stores keys verbatim, so that no key reaches another key’s record', async () => {
			const keys = ['a', 'a:h:a', ':r:a', 'r:a', '}', '{', '"', "'", '\\', '\n', '\u0000', '', ' ', '%', ']]', 'a'.repeat(300)];
			const decisions = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0);
			expect(decisions.map((d) => d.outcome)).toEqual(keys.map(() => 'new'));
			await store.transition(ns, decisions.map((d, i) => request('markProcessed', d.key, { claimToken: d.claimToken, resultJson: JSON.stringify({ i }) })), actor, T0 + 1);
			const again = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0 + 2);
			expect(again.map((d) => d.result)).toEqual(keys.map((_, i) => ({ i })));
			for (const key of keys) {
				expect((await store.history(ns, key)).map((h) => h.event)).toEqual(['claimed', 'processed', 'duplicate_seen']);
			}
			const listed = [];
			let cursor: string | null = null;
			do {
				const page = await store.list(ns, { limit: 3, cursor }, T0 + 3);
				listed.push(...page.records.map((r) => r.key));
				cursor = page.nextCursor;
			} while (cursor);
			expect(listed.sort()).toEqual([...keys].sort());
		});

		it('handles a 1 MB key and a result with every JSON escape', async () => {
			const key = 'k'.repeat(1024 * 1024);
			const result = JSON.stringify({ s: '"\\/\b\f\n\r\t\u0000\u2028 ünïcødé 🧾', n: [1.5, -0, 1e21], nested: { a: null } });
			const d = await claimOne(key, T0);
			expect(d.outcome).toBe('new');
			await transitionOne(request('markProcessed', key, { claimToken: d.claimToken, resultJson: result }), T0 + 1);
			expect((await claimOne(key, T0 + 2)).result).toEqual(JSON.parse(result));
			expect((await store.get(ns, key))?.key).toHaveLength(1024 * 1024);
			await admin.del(keysOf(ns).record(key), keysOf(ns).history(key));
		});

		it('refuses text that UTF-8 cannot carry, since two such keys would become one', async () => {
			await expect(claimOne('bad\ud800', T0)).rejects.toThrow(InvalidInputError);
			await expect(store.get('ns\udc00', 'k')).rejects.toThrow(InvalidInputError);
		});
	});

	describe('atomicity and connections', () => {
		it('writes nothing when a script fails part way (a foreign key in the way)', async () => {
			await admin.set(keysOf(ns).record('blocked'), 'not a hash');
			await expect(
				store.claim(ns, [{ key: 'first', fingerprint: null }, { key: 'blocked', fingerprint: null }], basePolicy, actor, T0),
			).rejects.toThrow(IdempotencyError);
			expect(await store.get(ns, 'first')).toBeNull();
			expect(await store.history(ns, 'first')).toEqual([]);
		});

		it('runs the scripts again after Redis lost them (EVALSHA falls back to EVAL)', async () => {
			await claimOne('before', T0);
			await admin.script('FLUSH');
			expect((await claimOne('after', T0)).outcome).toBe('new');
		});

		it('works on a client the caller owns, and leaves it open on close', async () => {
			const client = new Redis(REDIS_URL, TEST_CLIENT_OPTIONS);
			const shared = new RedisStore(client, { keyPrefix: PREFIX });
			const [d] = await shared.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0);
			expect(d.outcome).toBe('new');
			expect((await store.get(ns, 'k'))?.claimToken).toBe(d.claimToken);
			await shared.close();
			expect(await client.ping()).toBe('PONG');
			await client.quit();
		});

		it('uses the Redis clock when no time is given', async () => {
			const before = Date.now();
			const [d] = await store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor);
			expect(d.firstSeenAt).toBeGreaterThanOrEqual(before - 1000);
			expect(d.firstSeenAt).toBeLessThanOrEqual(Date.now() + 1000);
			expect(d.leaseUntil).toBe(d.firstSeenAt + MINUTE);
		});

		it('reports health, and warns when Redis keeps nothing on disk', async () => {
			const health = await store.health();
			expect(health.ok).toBe(true);
			expect(health.message).toContain(`${config.host}:${config.port}`);
			const [, appendonly] = (await admin.config('GET', 'appendonly')) as string[];
			const [, save] = (await admin.config('GET', 'save')) as string[];
			if (appendonly === 'no' && save === '') expect(health.warning).toMatch(/persistence is off/);
			else expect(health.warning).toBeUndefined();
		});

		it('fails fast with host and port in the message when Redis is down', async () => {
			const down = new RedisStore({ ...config, host: '127.0.0.1', port: 1 });
			const started = Date.now();
			const error = await down.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0).catch((e) => e);
			expect(error).toBeInstanceOf(StoreUnavailableError);
			expect(error.message).toContain('127.0.0.1:1');
			expect(error.message).toMatch(/ECONNREFUSED/);
			expect(Date.now() - started).toBeLessThan(5000);
			await expect(down.get(ns, 'k')).rejects.toThrow(StoreUnavailableError);
			const health = await down.health();
			expect(health.ok).toBe(false);
			expect(health.message).toContain('127.0.0.1:1');
			await down.close();
		});

		it('refuses a bad policy or key prefix before calling Redis', async () => {
			await expect(claimOne('k', T0, { leaseMs: 0 })).rejects.toThrow(InvalidInputError);
			await expect(claimOne('k', T0, { onFailed: 'sometimes' as 'retry' })).rejects.toThrow(InvalidInputError);
			expect(() => new RedisStore({ ...config, keyPrefix: 'a{b}' })).toThrow(InvalidInputError);
			expect(await store.get(ns, 'k')).toBeNull();
		});
	});

	describe('races', () => {
		it('the race test catches a read-then-write claim on Redis (so it can fail)', async () => {
			const clients = Array.from({ length: 50 }, () => new Redis(REDIS_URL, TEST_CLIENT_OPTIONS));
			const naive = clients.map((client) => async (key: string) => {
				const name = `${PREFIX}naive:${key}`;
				if (await client.exists(name)) return 'ambiguous';
				await client.set(name, 'processing');
				return 'new';
			});
			const newPerRound = await raceRounds(naive, 20);
			await Promise.all(clients.map((c) => c.quit()));
			expect(Math.max(...newPerRound)).toBeGreaterThan(1);
		});

		it('gives exactly one new among 50 connections claiming one key, 20 rounds, with chunks around it', async () => {
			const stores = Array.from({ length: 50 }, openStore);
			try {
				const newPerRound = await raceRounds(
					stores.map((s, i) => async (key: string) => {
						const neighbours = [`${key}-n${i % 5}`, key, `${key}-m${i % 3}`];
						const decisions = await s.claim(ns, neighbours.map((k) => ({ key: k, fingerprint: null })), basePolicy, actor);
						return decisions[1].outcome;
					}),
					20,
				);
				expect(newPerRound).toEqual(Array(20).fill(1));
			} finally {
				await Promise.all(stores.map((s) => s.close()));
			}
		});
	});
});

// The exception queue and its effect on keys, step by step against the Postgres store (the
// reference the Redis scripts follow): same requests, same clock, same answers. Ids and claim
// tokens differ by design and are compared through the pairs the two stores hand out.
describe('Redis exception queue agrees with Postgres', () => {
	const schema = uniqueSchema('redis_twin');
	let redis: RedisStore;
	let postgres: PostgresStore;
	beforeAll(() => {
		redis = openStore();
		postgres = postgresTestStore(schema, 2);
	});
	afterAll(async () => {
		await redis.close();
		await postgres.close();
		await dropSchema(schema);
	});

	it('records, resolves, lists and counts 250 random steps like the Postgres store', async () => {
		let seed = 7;
		const rand = () => {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			return seed / 2147483648;
		};
		const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)];
		const ns = `twin-${randomUUID()}`;
		const keys = ['a', 'b', 'c'];
		const MINUTE = 60_000;
		const policy: ClaimPolicy = { leaseMs: MINUTE, retentionMs: 10 * MINUTE, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		// Postgres id <-> Redis id, in the order both stores first showed them.
		const redisIdOf = new Map<string, string>();
		const postgresIdOf = new Map<string, string>();
		const pair = (fromPostgres: ExceptionRecord[], fromRedis: ExceptionRecord[]) => {
			fromPostgres.forEach((e, i) => {
				const r = fromRedis[i];
				if (!r || redisIdOf.has(e.id) || postgresIdOf.has(r.id)) return;
				redisIdOf.set(e.id, r.id);
				postgresIdOf.set(r.id, e.id);
			});
		};
		const asPostgres = (e: ExceptionRecord) => ({ ...e, id: postgresIdOf.get(e.id) ?? `unpaired ${e.id}` });
		const recordView = (r: KeyRecord | null) => r && { ...r, claimToken: r.claimToken !== null };
		// Consecutive duplicates as one run on both sides, whether or not the store keeps them so.
		const historyView = (entries: HistoryEntry[], idOf: (id: string) => string) =>
			entries.reduce<HistoryEntry[]>((view, entry) => {
				const ids = entry.detail?.exceptionIds as string[] | undefined;
				const h = ids ? { ...entry, detail: { ...entry.detail, exceptionIds: ids.map(idOf).sort() } } : entry;
				const last = view[view.length - 1];
				if (h.event !== 'duplicate_seen') view.push(h);
				else if (last?.event === 'duplicate_seen') view[view.length - 1] = { ...last, lastAt: h.lastAt ?? h.at, count: (last.count ?? 1) + (h.count ?? 1) };
				else view.push({ ...h, lastAt: h.lastAt ?? h.at, count: h.count ?? 1 });
				return view;
			}, []);
		const tokens = { redis: new Map<string, string | null>(), postgres: new Map<string, string | null>() };
		let now = 1_700_000_000_000;
		const expectSameKey = async (step: number | string, op: string, k: string) => {
			expect({ step, op, k, record: recordView(await redis.get(ns, k)) }).toEqual({ step, op, k, record: recordView(await postgres.get(ns, k)) });
			const rh = historyView(await redis.history(ns, k), (id) => postgresIdOf.get(id) ?? id);
			const ph = historyView(await postgres.history(ns, k), (id) => id);
			expect({ step, op, k, history: rh }).toEqual({ step, op, k, history: ph });
		};

		for (let step = 0; step < 250; step++) {
			const touched: string[] = [];
			now += pick([1, 1, 1000, MINUTE, 11 * MINUTE]); // every exception opens at its own ms
			const key = pick(keys);
			const roll = rand();
			let op: string;
			if (roll < 0.25) {
				op = 'claim';
				const fingerprint = pick([null, 'x', 'y']);
				const p = { ...policy, onLeaseExpired: pick(['ambiguous', 'reclaim'] as const) };
				const [pd] = await postgres.claim(ns, [{ key, fingerprint }], p, actor0, now);
				const [rd] = await redis.claim(ns, [{ key, fingerprint }], p, actor0, now);
				// The prior record is each store's own image: compare whether there is one.
				const priorOf = (d: typeof pd) => (d.prior === undefined ? 'absent' : d.prior === null ? 'none' : 'image');
				expect({ step, op, ...rd, claimToken: !!rd.claimToken, prior: priorOf(rd) }).toEqual({ step, op, ...pd, claimToken: !!pd.claimToken, prior: priorOf(pd) });
				if (pd.claimToken) tokens.postgres.set(key, pd.claimToken);
				if (rd.claimToken) tokens.redis.set(key, rd.claimToken);
			} else if (roll < 0.4) {
				op = 'transition';
				const kind = pick(['markProcessed', 'markFailed', 'release'] as const);
				const token = pick(['own', 'none', 'stale'] as const);
				const base = { kind, key, verifyClaim: rand() < 0.7, force: rand() < 0.15, resultJson: `{"step":${step}}`, errorMessage: 'e', retentionMs: 10 * MINUTE };
				const tokenOf = (own: string | null | undefined) => (token === 'own' ? (own ?? null) : token === 'stale' ? randomUUID() : null);
				const [pt] = await postgres.transition(ns, [{ ...base, claimToken: tokenOf(tokens.postgres.get(key)) }], actor0, now);
				const [rt] = await redis.transition(ns, [{ ...base, claimToken: tokenOf(tokens.redis.get(key)) }], actor0, now);
				expect({ step, op, ...rt, record: recordView(rt.record) }).toEqual({ step, op, ...pt, record: recordView(pt.record) });
			} else if (roll < 0.65) {
				op = 'recordExceptions';
				const request: OpenExceptionRequest = { key, reason: pick(['write_timeout', 'lease_expired']), owner: pick(['finance', 'revops']), severity: pick(['low', 'high'] as const), route: pick(['A', 'B']) };
				const requests = Array.from({ length: pick([1, 1, 2, 3]) }, () => request);
				const actorNow = { ...actor0, executionId: `ex-${step}` };
				const pe = await postgres.recordExceptions(ns, requests, actorNow, now);
				const re = await redis.recordExceptions(ns, requests, actorNow, now);
				pair(pe, re);
				expect({ step, op, exceptions: re.map(asPostgres) }).toEqual({ step, op, exceptions: pe });
			} else if (roll < 0.85) {
				op = 'resolveException';
				const known = [...redisIdOf.keys()];
				const byId = known.length > 0 && rand() < 0.6;
				const postgresId = byId ? pick(known) : null;
				const request: ResolveExceptionRequest = {
					id: postgresId,
					namespace: byId ? null : ns,
					key: byId ? null : key,
					resolution: pick(['replay', 'markProcessed', 'discard'] as const),
					resolvedBy: pick([null, 'jane']),
					note: pick([null, 'checked']),
					resultJson: pick([null, `{"by":"hand","step":${step}}`]),
				};
				const pr = await postgres.resolveException(request, actor0, now);
				if (postgresId) touched.push((await postgres.getException(postgresId))!.key);
				const rr = await redis.resolveException({ ...request, id: postgresId && redisIdOf.get(postgresId)! }, actor0, now);
				expect({ step, op, exceptions: rr.exceptions.map(asPostgres), record: recordView(rr.record) }).toEqual({ step, op, exceptions: pr.exceptions, record: recordView(pr.record) });
			} else {
				op = 'listOpenExceptions';
				const query = { namespace: ns, owner: pick([null, 'finance']), reason: pick([null, 'write_timeout']), olderThanMs: pick([null, 5 * MINUTE]), limit: pick([1, 3, 100]) };
				const pl = await postgres.listOpenExceptions(query, now);
				const rl = await redis.listOpenExceptions(query, now);
				expect({ step, op, exceptions: rl.map(asPostgres) }).toEqual({ step, op, exceptions: pl });
			}
			// The key this step acted on (a resolution by id acts on its exception's key).
			for (const k of new Set([key, ...touched])) await expectSameKey(step, op, k);
			expect({ step, op, stats: await redis.stats(ns, 7 * 86_400_000, now) }).toEqual({ step, op, stats: await postgres.stats(ns, 7 * 86_400_000, now) });
		}
		for (const k of keys) await expectSameKey('end', 'end', k);
		for (const [postgresId, redisId] of redisIdOf) {
			expect(asPostgres((await redis.getException(redisId))!)).toEqual(await postgres.getException(postgresId));
		}
		expect(redisIdOf.size).toBeGreaterThan(20);
	});
});

// On a Redis Cluster: the one REDIS_CLUSTER_NODES names (host:port,host:port), else three local
// masters this file starts and stops (test/helpers/redisCluster.ts). The same conformance suites
// run there, where Redis refuses any script whose keys are not all in one slot (CROSSSLOT).
describe('Redis Cluster', () => {
	const clusterPrefix = `test:${randomBytes(4).toString('hex')}:`;
	const T0 = 1_700_000_000_000;
	const actor: Actor = { workflowId: 'w', executionId: 'e', node: 'n' };
	let local: LocalCluster | null = null;
	let clusterConfig: RedisStoreConfig;
	const seeds = () =>
		clusterConfig.clusterNodes!.split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) }));
	const openClusterStore = () => new RedisStore(clusterConfig);

	beforeAll(async () => {
		const nodes = process.env.REDIS_CLUSTER_NODES || (local = await startLocalCluster()).nodes;
		const [first] = nodes.split(',');
		clusterConfig = {
			host: first.split(':')[0],
			port: Number(first.split(':')[1]),
			database: 0,
			tls: false,
			keyPrefix: clusterPrefix,
			mode: 'cluster',
			clusterNodes: nodes,
		};
	});

	afterAll(async () => {
		if (local) {
			await local.stop(); // its data goes with it
			return;
		}
		const admin = new Cluster(seeds(), { redisOptions: TEST_CLIENT_OPTIONS });
		await admin.ping(); // connects, so that the masters are known
		for (const node of admin.nodes('master')) {
			const keys = await keysUnder(node as unknown as Redis, `${clusterPrefix}*`);
			for (const key of keys) await node.del(key);
		}
		await admin.quit();
	});

	describeStoreConformance('Redis Cluster', async () => {
		const stores: RedisStore[] = [openClusterStore()];
		return {
			store: stores[0],
			openPeer: async () => {
				const peer = openClusterStore();
				stores.push(peer);
				return peer;
			},
			cleanup: async () => {
				await Promise.all(stores.map((s) => s.close()));
			},
		};
	});

	describeExceptionConformance('Redis Cluster', async () => {
		const store = openClusterStore();
		return {
			store,
			openPeer: async () => openClusterStore(),
			cleanup: async () => {
				await store.close();
			},
		};
	});

	it('lists, counts and purges namespaces spread over the cluster', async () => {
		const store = openClusterStore();
		const policy: ClaimPolicy = { leaseMs: 1000, retentionMs: 1000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		try {
			expect((await store.health()).ok).toBe(true);
			for (let i = 0; i < 20; i++) {
				const ns = `spread-${i}}`;
				const decisions = await store.claim(ns, ['a', 'b', 'c'].map((key) => ({ key, fingerprint: null })), policy, actor, T0);
				await store.transition(ns, decisions.map((d) => ({ kind: 'markProcessed' as const, key: d.key, claimToken: d.claimToken, verifyClaim: true, force: false, retentionMs: 0 })), actor, T0 + 1);
				expect((await store.list(ns, { limit: 2, state: 'processed' }, T0 + 2)).records.map((r) => r.key)).toEqual(['a', 'b']);
				expect((await store.stats(ns, 3_600_000, T0 + 2)).new).toBe(3);
				expect(await store.purge(ns, T0 + 5000)).toEqual({ records: 3, history: 6 });
			}
		} finally {
			await store.close();
		}
	});

	it('refuses a script whose keys span two slots (so the next test can fail)', async () => {
		const admin = new Cluster(seeds(), { redisOptions: TEST_CLIENT_OPTIONS });
		try {
			expect(clusterKeySlot(`${clusterPrefix}{a}`)).not.toBe(clusterKeySlot(`${clusterPrefix}{b}`));
			await expect(admin.eval('return 1', 2, `${clusterPrefix}{a}`, `${clusterPrefix}{b}`)).rejects.toThrow(/CROSSSLOT/);
		} finally {
			await admin.quit();
		}
	});

	it('runs every script on namespaces and keys of any shape, each within one slot', async () => {
		const store = openClusterStore();
		const admin = new Cluster(seeds(), { redisOptions: TEST_CLIENT_OPTIONS });
		const policy: ClaimPolicy = { leaseMs: 1000, retentionMs: 1000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		const key = 'k}{:x:h';
		try {
			for (const namespace of HOSTILE_NAMESPACES) {
				const label = { namespace };
				const keys = new NamespaceKeys(clusterPrefix, namespace);
				const [d] = await store.claim(namespace, [key, 'gone', 'kept'].map((k) => ({ key: k, fingerprint: null })), policy, actor, T0); // claim.lua
				await store.transition(namespace, [{ kind: 'markProcessed', key, claimToken: d.claimToken, verifyClaim: true, force: false, retentionMs: 0 }], actor, T0 + 1); // transition.lua
				await admin.del(keys.record('gone'));
				expect({ ...label, keys: (await store.list(namespace, { limit: 10 }, T0 + 2)).records.map((r) => r.key) }).toEqual({ ...label, keys: ['kept', key] }); // forget.lua (byte order)
				const [a, b] = await store.recordExceptions(namespace, [{ key, reason: 'write_timeout', owner: 'ops', severity: 'high', route: 'R' }, { key: 'kept', reason: 'in_progress', owner: 'ops', severity: 'low', route: 'R' }], actor, T0 + 3); // record_exceptions.lua
				expect({ ...label, namespace: (await store.getException(a.id))?.namespace }).toEqual({ ...label, namespace });
				expect((await store.listOpenExceptions({ owner: 'ops', limit: 1000 }, T0 + 4)).map((e) => e.id)).toEqual(expect.arrayContaining([a.id, b.id]));
				expect((await store.stats(namespace, 3_600_000, T0 + 4)).openExceptions).toBe(2); // stats.lua
				expect((await store.resolveException({ id: a.id, namespace: null, key: null, resolution: 'replay', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 5)).exceptions).toHaveLength(1); // resolve_exception.lua
				expect((await store.resolveException({ id: null, namespace, key: 'kept', resolution: 'markProcessed', resolvedBy: null, note: null, resultJson: '{"ok":true}' }, actor, T0 + 6)).record?.state).toBe('processed');
				expect(await store.purge(namespace, T0 + 6 + 31 * 86_400_000)).toEqual({ records: 1, history: 2 }); // purge.lua
			}
		} finally {
			await admin.quit();
			await store.close();
		}
	});
});
