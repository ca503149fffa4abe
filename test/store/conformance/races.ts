// Concurrency on every store: many claimers of one key get exactly one `new`, with or without
// other keys in their chunks, and overlapping chunks in opposite orders neither deadlock nor
// double-claim; claims, settlements, undos and purges of the same keys in opposite orders never
// deadlock; the Guard's wait mode polls a running claim until it settles.

import { claimAll } from '../../../nodes/shared/claims';
import type { IdempotencyStore } from '../../../nodes/shared/store/types';
import { actor, basePolicy, exceptionRequest, raceRounds, resolutionRequest, transitionRequest, useStore, type FixtureFactory } from './fixture';

const CLAIMERS = 50;
const ROUNDS = 20;
/** Keys per batch in the mixed-operation rounds: enough that opposite orders cross on some pair. */
const BATCH = 30;
/** Keys and reasons per round of the exception rounds: each key has an exception per reason. */
const EXCEPTION_KEYS = 6;
const EXCEPTION_REASONS = Array.from({ length: 20 }, (_, i) => `reason_${String(i).padStart(2, '0')}`);

export function describeRaceConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: races and waiting`, () => {
		const s = useStore(open, 'race');
		let peers: IdempotencyStore[] = [];
		beforeAll(async () => {
			peers = await Promise.all(Array.from({ length: CLAIMERS }, () => s.fixture.openPeer()));
		});
		afterAll(async () => {
			await Promise.all(peers.map((peer) => peer.close()));
		});

		it(`gives exactly one new among ${CLAIMERS} concurrent claimers of one key, ${ROUNDS} rounds`, async () => {
			const others: string[] = [];
			const newPerRound = await raceRounds(
				peers.map((peer) => async (key: string) => {
					const [d] = await peer.claim(s.ns, [{ key, fingerprint: null }], basePolicy, actor);
					if (d.outcome !== 'new') others.push(d.reason);
					return d.outcome;
				}),
				ROUNDS,
			);
			expect(newPerRound).toEqual(Array(ROUNDS).fill(1));
			expect(new Set(others)).toEqual(new Set(['in_progress']));
		});

		it(`gives exactly one new among ${CLAIMERS} claimers whose chunks hold other keys around it`, async () => {
			const newPerRound = await raceRounds(
				peers.map((peer, i) => async (key: string) => {
					const neighbours = [`${key}-n${i % 5}`, key, `${key}-m${i % 3}`];
					const decisions = await peer.claim(s.ns, neighbours.map((k) => ({ key: k, fingerprint: null })), basePolicy, actor);
					return decisions[1].outcome;
				}),
				ROUNDS,
			);
			expect(newPerRound).toEqual(Array(ROUNDS).fill(1));
		});

		it('gives exactly one new per key when concurrent chunks overlap in opposite orders', async () => {
			const keys = Array.from({ length: 200 }, (_, i) => `overlap-${i}`);
			const results = await Promise.all(
				peers.slice(0, 10).map((peer, i) =>
					peer.claim(s.ns, (i % 2 ? [...keys].reverse() : keys).map((key) => ({ key, fingerprint: null })), basePolicy, actor),
				),
			);
			const news = new Map<string, number>();
			for (const d of results.flat()) if (d.outcome === 'new') news.set(d.key, (news.get(d.key) ?? 0) + 1);
			expect(news.size).toBe(keys.length);
			expect([...news.values()].every((n) => n === 1)).toBe(true);
		});

		it(`never deadlocks: claims, a batch's settlement, undos and purges of the same keys in opposite orders, ${ROUNDS} rounds`, async () => {
			const failures = await mixedOperationRounds(peers.slice(0, 4), s.ns, ROUNDS);
			expect({ deadlocks: failures.filter((m) => /deadlock/i.test(m)).length, failures }).toEqual({ deadlocks: 0, failures: [] });
		});

		it('waits for a running claim to settle, then answers duplicate with its result', async () => {
			const first = await s.claimOne('k');
			setTimeout(() => void s.settle('markProcessed', 'k', first.claimToken), 300);
			const job = { namespace: s.ns, request: { key: 'k', fingerprint: null } };
			const decided = await claimAll(s.store, [job], basePolicy, actor, { waitMs: 5000, pollMs: 50 });
			expect(decided.get(job)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', result: { contactId: 'c-1' } });
		});

		it('gives up after waitSeconds with ambiguous in_progress, one history event for the wait', async () => {
			await s.claimOne('k');
			const job = { namespace: s.ns, request: { key: 'k', fingerprint: null } };
			const started = Date.now();
			const decided = await claimAll(s.store, [job], basePolicy, actor, { waitMs: 400, pollMs: 50 });
			expect(decided.get(job)).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
			expect(Date.now() - started).toBeGreaterThanOrEqual(350);
			expect((await s.store.history(s.ns, 'k')).map((h) => h.event)).toEqual(['claimed', 'ambiguous_seen']);
		});
	});
}

/**
 * `rounds` rounds of every writing call that locks records, on the same keys, in opposite orders,
 * from four stores at once; returns the message of each call that failed. Per round: a batch is
 * claimed; its Mark Processed runs (in the input's order, here descending) while a redelivery
 * claims it (ascending), and another input's failed batch is undone (descending) while a
 * redelivery claims that one; then keys past retention, written in descending order, are purged
 * while redeliveries claim them again and a Mark Received meets them.
 */
export async function mixedOperationRounds(stores: IdempotencyStore[], ns: string, rounds: number): Promise<string[]> {
	const [p0, p1, p2, p3] = stores;
	const failures: string[] = [];
	const together = (calls: Array<() => Promise<unknown>>) =>
		Promise.all(calls.map((call) => call().catch((error: Error) => void failures.push(error.message))));
	const batch = (round: number, label: string) =>
		Array.from({ length: BATCH }, (_, i) => `r${String(round).padStart(2, '0')}-${label}-${String(i).padStart(2, '0')}`);
	const requests = (keys: string[]) => keys.map((key) => ({ key, fingerprint: null }));
	for (let round = 0; round < rounds; round++) {
		const settled = batch(round, 'settled');
		const undone = batch(round, 'undone');
		const claims = await p0.claim(ns, requests([...settled, ...undone]), basePolicy, actor);
		const token = new Map(claims.map((d) => [d.key, d.claimToken]));
		await together([
			() => p1.transition(ns, [...settled].reverse().map((key) => transitionRequest('markProcessed', key, token.get(key) ?? null)), actor),
			() => p2.claim(ns, requests([...undone, ...settled]), basePolicy, actor),
			() => p3.restore(ns, [...undone].reverse().map((key) => ({ key, claimToken: token.get(key) ?? '', prior: null })), actor),
			() => p0.claim(ns, requests([...settled].reverse()), basePolicy, actor),
		]);
		const expired = batch(round, 'expired').reverse();
		const shortLived = { ...basePolicy, retentionMs: 1 };
		for (const key of expired) {
			const [d] = await p0.claim(ns, requests([key]), shortLived, actor);
			await p0.transition(ns, [transitionRequest('markProcessed', key, d.claimToken, { retentionMs: 1 })], actor);
		}
		await new Promise((resolve) => setTimeout(resolve, 5));
		await together([
			() => p1.purge(ns),
			() => p2.claim(ns, requests([...expired].reverse()), basePolicy, actor),
			() => p3.claim(ns, requests(expired), basePolicy, actor),
			() => p0.transition(ns, expired.map((key) => transitionRequest('markReceived', key, null, { verifyClaim: false })), actor),
		]);
	}
	return failures;
}

/**
 * `rounds` rounds of every call that locks exceptions, on the same keys in opposite orders, from
 * four stores at once; returns the message of each call that failed. Per round: each key gets an
 * exception per reason, opened one reason at a time from the last reason to the first (so the
 * table holds a key's exceptions in the opposite of reason order, and so did the order they were
 * last seen in), and an incident (groupBy key) in between; then, all at once, each key's
 * exceptions are resolved by key (ascending keys from one store, descending from another, acting
 * on the record), its incident and first exception one by one by id (descending), and every
 * (key, reason) and incident is recorded again, key by key and all keys in one call — counted on
 * the open ones, opened anew where a resolution came first.
 */
export async function exceptionLockRounds(stores: IdempotencyStore[], ns: string, rounds: number): Promise<string[]> {
	const [p0, p1, p2, p3] = stores;
	const failures: string[] = [];
	const together = (calls: Array<() => Promise<unknown>>) =>
		Promise.all(calls.map((call) => call().catch((error: Error) => void failures.push(error.message))));
	const descending = [...EXCEPTION_REASONS].reverse();
	const everything = (key: string) => [...EXCEPTION_REASONS.map((reason) => exceptionRequest(key, reason)), exceptionRequest(key, 'incident', { groupBy: 'key' })];
	for (let round = 0; round < rounds; round++) {
		const keys = Array.from({ length: EXCEPTION_KEYS }, (_, i) => `r${String(round).padStart(2, '0')}-k${i}`);
		const byId: string[] = [];
		for (const [n, reason] of descending.entries()) {
			const opened = await p0.recordExceptions(ns, keys.map((key) => exceptionRequest(key, reason)), actor);
			if (n === 0) byId.push(...opened.map((e) => e.id));
			if (n === 1) byId.push(...(await p0.recordExceptions(ns, keys.map((key) => exceptionRequest(key, 'incident', { groupBy: 'key' })), actor)).map((e) => e.id));
		}
		const byKey = (store: IdempotencyStore, order: string[], over: Parameters<typeof resolutionRequest>[0]) =>
			order.map((key) => () => store.resolveException(resolutionRequest({ namespace: ns, key, ...over }), actor));
		await together([
			...byKey(p1, keys, { resolution: 'discard' }),
			...byKey(p2, [...keys].reverse(), { resolution: 'markProcessed', resultJson: '{"id":1}' }),
			...[...byId].reverse().map((id) => () => p3.resolveException(resolutionRequest({ id, resolution: 'discard' }), actor)),
			...[...keys].reverse().map((key) => () => p0.recordExceptions(ns, everything(key), actor)),
			() => p3.recordExceptions(ns, keys.flatMap(everything), actor),
		]);
	}
	return failures;
}
