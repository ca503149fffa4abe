// One conformance suite for every store adapter (SPEC §10): the decision table of SPEC §5 row by
// row and against the reference engine, leases, fencing, retention, wait polling, in-batch
// repeats, hostile keys and namespaces, and the race: many concurrent claimers of one key get
// exactly one `new`. Each adapter's test file calls describeStoreConformance with a factory that
// gives it a store on its own schema / key prefix, and cleans up after.

import { randomUUID } from 'crypto';
import { claimAll } from '../../nodes/shared/claims';
import { decide } from '../../nodes/shared/engine/decide';
import { finishKey } from '../../nodes/shared/engine/keys';
import type {
	Actor,
	ClaimPolicy,
	IdempotencyStore,
	TransitionKind,
	TransitionRequest,
} from '../../nodes/shared/store/types';

export interface StoreFixture {
	/** The store under test. */
	store: IdempotencyStore;
	/** Another store on the same data, with its own connection(s) — for races. */
	openPeer(): Promise<IdempotencyStore>;
	/** Removes everything the fixture created. */
	cleanup(): Promise<void>;
}

export const actor: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };

export const basePolicy: ClaimPolicy = {
	leaseMs: 60_000,
	retentionMs: 86_400_000,
	onInProgress: 'ambiguous',
	onLeaseExpired: 'ambiguous',
	onFailed: 'retry',
	maxAttempts: 3,
	onPayloadMismatch: 'ambiguous',
};

const MINUTE = 60_000;
const DAY = 86_400_000;

export function transitionRequest(
	kind: TransitionKind,
	key: string,
	claimToken: string | null,
	extra: Partial<TransitionRequest> = {},
): TransitionRequest {
	return { kind, key, claimToken, verifyClaim: true, force: false, retentionMs: DAY, ...extra };
}

/**
 * Runs `rounds` rounds in which every claimer claims the same fresh key at the same moment, and
 * returns how many `new` outcomes each round produced. Correct stores give 1 every round; the
 * store tests also run it against a read-then-write claim to show it catches that race.
 */
export async function raceRounds(
	claimers: Array<(key: string) => Promise<string>>,
	rounds: number,
): Promise<number[]> {
	const newPerRound: number[] = [];
	for (let round = 0; round < rounds; round++) {
		const key = `race-${round}-${randomUUID()}`;
		const outcomes = await Promise.all(claimers.map((claim) => claim(key)));
		newPerRound.push(outcomes.filter((outcome) => outcome === 'new').length);
	}
	return newPerRound;
}

export function describeStoreConformance(name: string, open: () => Promise<StoreFixture>): void {
	describe(`${name} store conformance`, () => {
		let fixture: StoreFixture;
		let store: IdempotencyStore;
		let ns: string;
		const T0 = Date.now();

		beforeAll(async () => {
			fixture = await open();
			store = fixture.store;
		});
		afterAll(async () => {
			await fixture?.cleanup();
		});
		beforeEach(() => {
			ns = `ns-${randomUUID()}`;
		});

		const claimOne = async (key: string, now: number, policy: Partial<ClaimPolicy> = {}, fingerprint: string | null = null) =>
			(await store.claim(ns, [{ key, fingerprint }], { ...basePolicy, ...policy }, actor, now))[0];
		const settle = async (kind: 'markProcessed' | 'markFailed', key: string, token: string | null, now: number, extra: Partial<TransitionRequest> = {}) =>
			(await store.transition(ns, [transitionRequest(kind, key, token, { resultJson: kind === 'markProcessed' ? '{"contactId":"c-1"}' : null, errorMessage: kind === 'markFailed' ? 'CRM said 500' : null, ...extra })], actor, now))[0];

		describe('decision table (SPEC §5)', () => {
			it('claims an unseen key as new: processing, attempt 1, a fresh token and a lease', async () => {
				const d = await claimOne('lead-1', T0);
				expect(d).toMatchObject({ key: 'lead-1', outcome: 'new', reason: 'first_seen', state: 'processing', attempt: 1 });
				expect(d.claimToken).toMatch(/^[0-9a-f-]{16,}$/i);
				expect(d.firstSeenAt).toBe(T0);
				expect(d.lastSeenAt).toBe(T0);
				expect(d.leaseUntil).toBe(T0 + basePolicy.leaseMs);
				expect(d.result).toBeNull();
				const record = await store.get(ns, 'lead-1');
				expect(record).toMatchObject({ state: 'processing', attempt: 1, claimToken: d.claimToken, workflowId: 'wf-1', executionId: 'ex-1' });
			});

			it('claims a received key as new with reason first_seen', async () => {
				const r = (await store.transition(ns, [transitionRequest('markReceived', 'k', null)], actor, T0))[0];
				expect(r).toMatchObject({ applied: true, noop: false });
				expect(r.record?.state).toBe('received');
				const d = await claimOne('k', T0 + 1);
				expect(d).toMatchObject({ outcome: 'new', reason: 'first_seen', state: 'processing', attempt: 1 });
				expect(d.claimToken).toBeTruthy();
			});

			it('routes a key in progress per onInProgress, changing nothing', async () => {
				const first = await claimOne('k', T0);
				const amb = await claimOne('k', T0 + 1000);
				expect(amb).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress', state: 'processing', attempt: 1, claimToken: null });
				expect(amb.leaseUntil).toBe(first.leaseUntil);
				const dup = await claimOne('k', T0 + 2000, { onInProgress: 'duplicate' });
				expect(dup).toMatchObject({ outcome: 'duplicate', reason: 'in_progress', claimToken: null });
				const record = await store.get(ns, 'k');
				expect(record).toMatchObject({ state: 'processing', attempt: 1, claimToken: first.claimToken });
			});

			it('reports a wait poll as pending without writing history', async () => {
				await claimOne('k', T0);
				const before = await store.history(ns, 'k');
				const poll = await claimOne('k', T0 + 10, { onInProgress: 'pending' });
				expect(poll).toMatchObject({ outcome: 'pending', reason: 'in_progress' });
				expect(await store.history(ns, 'k')).toHaveLength(before.length);
			});

			it('routes an expired lease to ambiguous lease_expired by default, and lets reclaim take it over', async () => {
				const first = await claimOne('k', T0, { leaseMs: MINUTE });
				const amb = await claimOne('k', T0 + MINUTE + 1);
				expect(amb).toMatchObject({ outcome: 'ambiguous', reason: 'lease_expired', state: 'processing', attempt: 1, claimToken: null });
				const taken = await claimOne('k', T0 + MINUTE + 2, { onLeaseExpired: 'reclaim' });
				expect(taken).toMatchObject({ outcome: 'new', reason: 'reclaimed', state: 'processing', attempt: 2 });
				expect(taken.claimToken).toBeTruthy();
				expect(taken.claimToken).not.toBe(first.claimToken);
				expect(taken.leaseUntil).toBe(T0 + MINUTE + 2 + basePolicy.leaseMs);
				expect(taken.firstSeenAt).toBe(T0);
				const events = (await store.history(ns, 'k')).map((h) => h.event);
				expect(events).toEqual(['claimed', 'ambiguous_seen', 'reclaimed']);
			});

			it('treats the exact lease end as expired (a lease is valid strictly before leaseUntil)', async () => {
				await claimOne('k', T0, { leaseMs: MINUTE });
				expect((await claimOne('k', T0 + MINUTE - 1)).reason).toBe('in_progress');
				expect((await claimOne('k', T0 + MINUTE)).reason).toBe('lease_expired');
			});

			it('answers a processed key as duplicate with the stored result, counting duplicates', async () => {
				const first = await claimOne('k', T0);
				await settle('markProcessed', 'k', first.claimToken, T0 + 10);
				const dup = await claimOne('k', T0 + 20);
				expect(dup).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', state: 'processed', attempt: 1, claimToken: null, result: { contactId: 'c-1' } });
				expect(dup.lastSeenAt).toBe(T0 + 20);
				await claimOne('k', T0 + 30);
				const record = await store.get(ns, 'k');
				expect(record?.duplicateCount).toBe(2);
				expect(record?.lastSeenAt).toBe(T0 + 30);
			});

			it('flags a payload mismatch in any state, per onPayloadMismatch', async () => {
				const first = await claimOne('k', T0, {}, 'fp-a');
				expect((await claimOne('k', T0 + 1, {}, 'fp-b'))).toMatchObject({ outcome: 'ambiguous', reason: 'payload_mismatch', state: 'processing' });
				await settle('markProcessed', 'k', first.claimToken, T0 + 2);
				expect(await claimOne('k', T0 + 3, {}, 'fp-b')).toMatchObject({ outcome: 'ambiguous', reason: 'payload_mismatch', state: 'processed' });
				expect(await claimOne('k', T0 + 4, { onPayloadMismatch: 'duplicate' }, 'fp-b')).toMatchObject({ outcome: 'duplicate', reason: 'payload_mismatch' });
				expect(await claimOne('k', T0 + 5, {}, 'fp-a')).toMatchObject({ outcome: 'duplicate', reason: 'already_processed' });
				// Without a fingerprint on the delivery, only the key decides.
				expect(await claimOne('k', T0 + 6, {}, null)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed' });
			});

			it('retries a failed key as new with attempt + 1, or routes it to ambiguous previously_failed', async () => {
				const first = await claimOne('k', T0);
				await settle('markFailed', 'k', first.claimToken, T0 + 1);
				expect(await claimOne('k', T0 + 2, { onFailed: 'ambiguous' })).toMatchObject({ outcome: 'ambiguous', reason: 'previously_failed', state: 'failed', attempt: 1 });
				const retry = await claimOne('k', T0 + 3);
				expect(retry).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', state: 'processing', attempt: 2 });
				expect(retry.claimToken).not.toBe(first.claimToken);
				expect((await store.get(ns, 'k'))?.lastError).toBe('CRM said 500');
			});

			it('stops retrying at maxAttempts with ambiguous max_attempts', async () => {
				let token = (await claimOne('k', T0)).claimToken;
				for (let attempt = 1; attempt < 3; attempt++) {
					await settle('markFailed', 'k', token, T0 + attempt * 10);
					const retry = await claimOne('k', T0 + attempt * 10 + 1);
					expect(retry).toMatchObject({ outcome: 'new', attempt: attempt + 1 });
					token = retry.claimToken;
				}
				await settle('markFailed', 'k', token, T0 + 100);
				expect(await claimOne('k', T0 + 101)).toMatchObject({ outcome: 'ambiguous', reason: 'max_attempts', state: 'failed', attempt: 3 });
				expect(await claimOne('k', T0 + 102, { maxAttempts: 5 })).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 4 });
			});

			it('forgets a processed key after retention: new first_seen, attempt 1 again', async () => {
				const first = await claimOne('k', T0, { retentionMs: DAY });
				await settle('markProcessed', 'k', first.claimToken, T0 + 10);
				expect((await store.get(ns, 'k'))?.expiresAt).toBe(T0 + 10 + DAY);
				expect(await claimOne('k', T0 + 10 + DAY - 1)).toMatchObject({ outcome: 'duplicate' });
				const again = await claimOne('k', T0 + 10 + DAY);
				expect(again).toMatchObject({ outcome: 'new', reason: 'first_seen', attempt: 1, result: null });
				expect(again.firstSeenAt).toBe(T0 + 10 + DAY);
			});

			it('keeps a key forever with retention 0, and lease and retention stay independent', async () => {
				const first = await claimOne('k', T0, { retentionMs: 0, leaseMs: 1000 });
				await settle('markProcessed', 'k', first.claimToken, T0 + 5000);
				expect((await store.get(ns, 'k'))?.expiresAt).toBeNull();
				expect(await claimOne('k', T0 + 3650 * DAY)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed' });
			});

			it('appends one history event per decision with the actor', async () => {
				const first = await claimOne('k', T0);
				await claimOne('k', T0 + 1);
				await settle('markProcessed', 'k', first.claimToken, T0 + 2);
				await claimOne('k', T0 + 3);
				const history = await store.history(ns, 'k');
				expect(history.map((h) => [h.event, h.reason, h.at])).toEqual([
					['claimed', 'first_seen', T0],
					['ambiguous_seen', 'in_progress', T0 + 1],
					['processed', null, T0 + 2],
					['duplicate_seen', 'already_processed', T0 + 3],
				]);
				for (const entry of history) expect(entry).toMatchObject({ workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' });
			});

			it('records in-batch repeats in the key history in the same round trip', async () => {
				const [d] = await store.claim(ns, [{ key: 'k', fingerprint: 'a', repeats: { duplicates: 2, mismatches: 1 } }], basePolicy, actor, T0);
				expect(d.outcome).toBe('new');
				const history = await store.history(ns, 'k');
				// A store may keep the two duplicates as one run of count 2 (spelled out here).
				expect(history.flatMap((h) => Array(h.count ?? 1).fill(`${h.event}:${h.reason}`)).sort()).toEqual(
					['ambiguous_seen:duplicate_in_batch', 'claimed:first_seen', 'duplicate_seen:duplicate_in_batch', 'duplicate_seen:duplicate_in_batch'].sort(),
				);
			});
		});

		describe('agrees with the reference decision engine', () => {
			type Setup = 'none' | 'received' | 'processing' | 'stale' | 'processed' | 'expired' | 'failed1' | 'failed3';
			const setups: Setup[] = ['none', 'received', 'processing', 'stale', 'processed', 'expired', 'failed1', 'failed3'];
			const policies: Array<Partial<ClaimPolicy>> = [
				{},
				{ onInProgress: 'duplicate', onLeaseExpired: 'reclaim', onFailed: 'ambiguous', onPayloadMismatch: 'duplicate' },
				{ maxAttempts: 1, onInProgress: 'pending' },
			];
			const prints: Array<string | null> = [null, 'fp-a', 'fp-b'];

			async function prepare(key: string, setup: Setup): Promise<void> {
				const at = T0 - 10 * DAY;
				if (setup === 'none') return;
				if (setup === 'received') {
					await store.transition(ns, [transitionRequest('markReceived', key, null)], actor, at);
					return;
				}
				const c = await claimOne(key, setup === 'processing' ? T0 - 1000 : at, { leaseMs: setup === 'processing' ? 10 * MINUTE : MINUTE, retentionMs: setup === 'expired' ? DAY : 30 * DAY }, 'fp-a');
				if (setup === 'processing' || setup === 'stale') return;
				if (setup === 'processed' || setup === 'expired') {
					await settle('markProcessed', key, c.claimToken, at + 1);
					return;
				}
				let token = c.claimToken;
				const fails = setup === 'failed1' ? 1 : 3;
				for (let n = 1; n <= fails; n++) {
					await settle('markFailed', key, token, at + n * 10);
					if (n < fails) token = (await claimOne(key, at + n * 10 + 1, { leaseMs: MINUTE, maxAttempts: 9 })).claimToken;
				}
			}

			for (const setup of setups) {
				it(`decides every policy and fingerprint like decide() for a ${setup} key`, async () => {
					let n = 0;
					for (const policyPart of policies) {
						for (const fingerprint of prints) {
							const key = `${setup}-${n++}`;
							await prepare(key, setup);
							const record = await store.get(ns, key);
							const policy = { ...basePolicy, ...policyPart };
							const expected = decide({ record, fingerprint, now: T0, policy });
							const actual = await claimOne(key, T0, policyPart, fingerprint);
							expect({ key, outcome: actual.outcome, reason: actual.reason, state: actual.state }).toEqual({
								key,
								outcome: expected.outcome,
								reason: expected.reason,
								state: expected.state,
							});
						}
					}
				});
			}
		});

		describe('batches', () => {
			it('decides a chunk of 1000 distinct keys in one call, in request order', async () => {
				const keys = Array.from({ length: 1000 }, (_, i) => `batch-${(i * 7919) % 1000}`);
				await claimOne('batch-500', T0);
				const decisions = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0 + 1);
				expect(decisions.map((d) => d.key)).toEqual(keys);
				expect(decisions.filter((d) => d.outcome === 'new')).toHaveLength(999);
				expect(decisions.find((d) => d.key === 'batch-500')).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
			});

			it('keeps namespaces apart, even ones that differ only in braces or separators', async () => {
				const names = [ns, `${ns}}`, `{${ns}`, `${ns}:r`, `${ns}:r:x`];
				for (const name of names) {
					const [d] = await store.claim(name, [{ key: 'x', fingerprint: null }], basePolicy, actor, T0);
					expect(d.outcome).toBe('new');
				}
				const [again] = await store.claim(`${ns}:r`, [{ key: 'x', fingerprint: null }], basePolicy, actor, T0 + 1);
				expect(again.outcome).toBe('ambiguous');
			});
		});

		describe('hostile keys and namespaces', () => {
			const hostile = [
				`'; DROP TABLE records; --`,
				`" OR 1=1 --`,
				`$1 $$ $fn$`,
				`]] .. redis.call('FLUSHALL') .. [[`,
				`{tag}:r:other`,
				`%s %d \\n \\x00`,
				`key with "quotes" and 'apostrophes' and \\backslashes\\`,
				'emoji 🧾 and 中文 and NFKC ﬁ',
				'x'.repeat(256),
				finishKey('y'.repeat(10_000), false),
				finishKey('nul\u0000inside', false),
			];
			it.each(hostile.map((key) => [key.slice(0, 40), key]))('stores and decides %j literally', async (_label, key) => {
				const weird = `ns '"]]{}\\ ${ns}`;
				const [first] = await store.claim(weird, [{ key, fingerprint: null }], basePolicy, actor, T0);
				expect(first).toMatchObject({ key, outcome: 'new' });
				const [second] = await store.claim(weird, [{ key, fingerprint: null }], basePolicy, actor, T0 + 1);
				expect(second).toMatchObject({ key, outcome: 'ambiguous', reason: 'in_progress' });
				expect((await store.get(weird, key))?.key).toBe(key);
				expect(await store.get(weird, `${key}x`)).toBeNull();
			});
		});

		describe('wait polling', () => {
			it('waits for a running claim to settle, then answers duplicate with its result', async () => {
				const first = await claimOne('k', Date.now());
				setTimeout(() => void settle('markProcessed', 'k', first.claimToken, Date.now()), 300);
				const job = { namespace: ns, request: { key: 'k', fingerprint: null } };
				const decided = await claimAll(store, [job], basePolicy, actor, { waitMs: 5000, pollMs: 50 });
				expect(decided.get(job)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', result: { contactId: 'c-1' } });
			});

			it('gives up after waitSeconds with ambiguous in_progress', async () => {
				await claimOne('k', Date.now());
				const job = { namespace: ns, request: { key: 'k', fingerprint: null } };
				const started = Date.now();
				const decided = await claimAll(store, [job], basePolicy, actor, { waitMs: 400, pollMs: 50 });
				expect(decided.get(job)).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
				expect(Date.now() - started).toBeGreaterThanOrEqual(350);
				const history = await store.history(ns, 'k');
				expect(history.map((h) => h.event)).toEqual(['claimed', 'ambiguous_seen']);
			});
		});

		describe('fencing', () => {
			it('rejects a stale owner once its lease was reclaimed, and applies the new owner', async () => {
				const stale = await claimOne('k', T0, { leaseMs: MINUTE });
				const fresh = await claimOne('k', T0 + 2 * MINUTE, { onLeaseExpired: 'reclaim' });
				const lost = await settle('markProcessed', 'k', stale.claimToken, T0 + 2 * MINUTE + 1);
				expect(lost).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
				const won = await settle('markProcessed', 'k', fresh.claimToken, T0 + 2 * MINUTE + 2);
				expect(won).toMatchObject({ applied: true, noop: false });
				const again = await settle('markProcessed', 'k', fresh.claimToken, T0 + 2 * MINUTE + 3);
				expect(again).toMatchObject({ applied: true, noop: true });
				const late = await settle('markFailed', 'k', stale.claimToken, T0 + 2 * MINUTE + 4);
				expect(late).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
				// Nor may the stale worker undo the new owner's write by releasing the key.
				const undo = (await store.transition(ns, [transitionRequest('release', 'k', stale.claimToken)], actor, T0 + 2 * MINUTE + 5))[0];
				expect(undo).toMatchObject({ applied: false, rejectReason: 'claim_lost' });
				expect((await store.get(ns, 'k'))?.state).toBe('processed');
			});

			it('lets a release make the next delivery new again', async () => {
				const first = await claimOne('k', T0);
				await settle('markProcessed', 'k', first.claimToken, T0 + 1);
				const released = (await store.transition(ns, [transitionRequest('release', 'k', null)], actor, T0 + 2))[0];
				expect(released).toMatchObject({ applied: true, record: null });
				expect(await store.get(ns, 'k')).toBeNull();
				expect(await claimOne('k', T0 + 3)).toMatchObject({ outcome: 'new', reason: 'first_seen', attempt: 1 });
				expect((await store.history(ns, 'k')).map((h) => h.event)).toEqual(['claimed', 'processed', 'released', 'claimed']);
			});
		});

		describe('races', () => {
			const CLAIMERS = 50;
			const ROUNDS = 20;
			let peers: IdempotencyStore[] = [];
			beforeAll(async () => {
				peers = await Promise.all(Array.from({ length: CLAIMERS }, () => fixture.openPeer()));
			});
			afterAll(async () => {
				await Promise.all(peers.map((peer) => peer.close()));
			});

			it(`gives exactly one new among ${CLAIMERS} concurrent claimers of one key, ${ROUNDS} rounds`, async () => {
				const others: string[] = [];
				const newPerRound = await raceRounds(
					peers.map((peer) => async (key: string) => {
						const [d] = await peer.claim(ns, [{ key, fingerprint: null }], basePolicy, actor);
						if (d.outcome !== 'new') others.push(d.reason);
						return d.outcome;
					}),
					ROUNDS,
				);
				expect(newPerRound).toEqual(Array(ROUNDS).fill(1));
				expect(new Set(others)).toEqual(new Set(['in_progress']));
			});

			it('gives exactly one new per key when concurrent chunks overlap in opposite orders', async () => {
				const keys = Array.from({ length: 200 }, (_, i) => `overlap-${i}`);
				const results = await Promise.all(
					peers.slice(0, 10).map((peer, i) =>
						peer.claim(ns, (i % 2 ? [...keys].reverse() : keys).map((key) => ({ key, fingerprint: null })), basePolicy, actor),
					),
				);
				const news = new Map<string, number>();
				for (const d of results.flat()) if (d.outcome === 'new') news.set(d.key, (news.get(d.key) ?? 0) + 1);
				expect(news.size).toBe(keys.length);
				expect([...news.values()].every((n) => n === 1)).toBe(true);
			});
		});
	});
}
