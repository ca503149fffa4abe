// Conformance for the Idempotency Trigger's feeds (stuck claims, exceptions seen), run against every
// store: order, ties across namespaces in byte order, exact paging, a window read twice finding the
// same, what is not an event (settled claims, resolved exceptions), and limits clamped alike.

import { randomUUID } from 'crypto';
import type { FeedPosition, FeedQuery, IdempotencyStore } from '../../../nodes/shared/store/types';
import { actor, basePolicy, type FixtureFactory, type StoreFixture } from './fixture';

/** Reads a whole window page by page, as successive polls would. */
async function drain<T>(read: (q: FeedQuery) => Promise<{ events: T[]; next: FeedPosition }>, query: FeedQuery): Promise<{ events: T[]; pages: number; next: FeedPosition }> {
	const events: T[] = [];
	let from = query.from;
	for (let pages = 1; ; pages++) {
		const page = await read({ ...query, from });
		events.push(...page.events);
		from = page.next;
		if (page.events.length < query.limit) return { events, pages, next: from };
		if (pages > 100) throw new Error('the feed does not end');
	}
}

export function describeFeedConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: trigger feeds`, () => {
		let fixture: StoreFixture;
		let store: IdempotencyStore;
		let ns: string;
		let other: string;
		// Far from every other test's times, so that "every namespace" windows hold only this test's events.
		let T: number;
		const exception = (key: string, reason = 'lease_expired') => ({ key, reason, owner: 'ops', severity: 'high' as const, route: 'Ops' });

		beforeAll(async () => {
			fixture = await open();
			store = fixture.store;
		});
		afterAll(async () => {
			await fixture?.cleanup();
		});
		beforeEach(() => {
			ns = `feed-${randomUUID()}`;
			other = `feed-${randomUUID()}`;
			T = Date.now() + (10 + Math.floor(Math.random() * 1_000_000)) * 60_000;
		});

		it('reads the store clock in epoch ms', async () => {
			const clock = await store.clock();
			expect(Math.abs(clock - Date.now())).toBeLessThan(5_000);
		});

		it('hands out claims whose lease ran out, in lease order, across namespaces or for one', async () => {
			const lease = { ...basePolicy, leaseMs: 1_000 };
			await store.claim(ns, [{ key: 'late', fingerprint: null }], lease, actor, T + 10);
			await store.claim(ns, [{ key: 'early', fingerprint: null }], lease, actor, T);
			await store.claim(other, [{ key: 'early', fingerprint: null }], lease, actor, T);
			const [settled] = await store.claim(ns, [{ key: 'settled', fingerprint: null }], lease, actor, T);
			await store.transition(ns, [{ kind: 'markProcessed', key: 'settled', claimToken: settled.claimToken, verifyClaim: true, force: false, retentionMs: 0 }], actor, T + 5);
			await store.claim(ns, [{ key: 'live', fingerprint: null }], { ...basePolicy, leaseMs: 60_000 }, actor, T);

			const window = { from: { at: T, after: null }, until: T + 1_010, limit: 100 };
			const everywhere = (await store.stuckClaims({ ...window, namespace: null })).events.filter((r) => r.namespace === ns || r.namespace === other);
			expect(everywhere.map((r) => [r.namespace === ns ? 'ns' : 'other', r.key, r.leaseUntil])).toEqual(
				[
					...[ns, other].sort().map((n) => [n === ns ? 'ns' : 'other', 'early', T + 1_000]),
					['ns', 'late', T + 1_010],
				],
			);
			expect(everywhere[0]).toMatchObject({ state: 'processing', attempt: 1, workflowId: 'wf-1', executionId: 'ex-1' });
			const one = await store.stuckClaims({ ...window, namespace: ns });
			expect(one.events.map((r) => r.key)).toEqual(['early', 'late']);
			expect(one.next).toEqual({ at: T + 1_010, after: null });
			// The lease end of `late` is the window's end: it is in this window, not in the next one.
			expect((await store.stuckClaims({ namespace: ns, from: one.next, until: T + 5_000, limit: 100 })).events).toEqual([]);
		});

		it('a reclaimed claim is a new event when its new lease runs out too', async () => {
			const lease = { ...basePolicy, leaseMs: 1_000, onLeaseExpired: 'reclaim' as const };
			await store.claim(ns, [{ key: 'k', fingerprint: null }], lease, actor, T);
			const first = await store.stuckClaims({ namespace: ns, from: { at: T, after: null }, until: T + 1_500, limit: 10 });
			expect(first.events.map((r) => r.attempt)).toEqual([1]);
			const [again] = await store.claim(ns, [{ key: 'k', fingerprint: null }], lease, actor, T + 2_000);
			expect(again).toMatchObject({ outcome: 'new', reason: 'reclaimed', attempt: 2 });
			const second = await store.stuckClaims({ namespace: ns, from: first.next, until: T + 3_500, limit: 10 });
			expect(second.events.map((r) => [r.attempt, r.leaseUntil])).toEqual([[2, T + 3_000]]);
			// The window read again finds only what is still stuck in it: the old lease is gone.
			expect((await store.stuckClaims({ namespace: ns, from: { at: T, after: null }, until: T + 1_500, limit: 10 })).events).toEqual([]);
		});

		it('pages through claims with the same lease end exactly once each, ties in byte order', async () => {
			const keys = ['b', 'a', 'Z', 'é', '😀', 'ab', 'a b'];
			const lease = { ...basePolicy, leaseMs: 500 };
			await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), lease, actor, T);
			await store.claim(other, keys.slice(0, 3).map((key) => ({ key, fingerprint: null })), lease, actor, T);
			const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
			const expected = [
				...[ns, other].sort(bytes).flatMap((n) => (n === ns ? keys : keys.slice(0, 3)).slice().sort(bytes).map((k) => `${n}/${k}`)),
			];
			for (const namespace of [null, ns]) {
				const { events, pages } = await drain((q) => store.stuckClaims(q), { namespace, from: { at: T, after: null }, until: T + 500, limit: 2 });
				const got = events.filter((r) => r.namespace === ns || r.namespace === other).map((r) => `${r.namespace}/${r.key}`);
				expect(got).toEqual(namespace === null ? expected : expected.filter((e) => e.startsWith(`${ns}/`)));
				expect(pages).toBeGreaterThan(2);
			}
		});

		it('hands out an exception when opened and again when it occurs again, never once resolved', async () => {
			const [opened] = await store.recordExceptions(ns, [exception('k')], actor, T);
			await store.recordExceptions(other, [exception('k')], actor, T + 1);
			const first = await store.exceptionsSeen({ namespace: ns, from: { at: T - 1, after: null }, until: T + 1, limit: 10 });
			expect(first.events.map((e) => [e.id, e.occurrences])).toEqual([[opened.id, 1]]);
			const everywhere = (await store.exceptionsSeen({ namespace: null, from: { at: T - 1, after: null }, until: T + 1, limit: 10 })).events;
			expect(everywhere.map((e) => e.namespace)).toEqual([ns, other]);

			await store.recordExceptions(ns, [exception('k'), exception('k')], actor, T + 5);
			const repeat = await store.exceptionsSeen({ namespace: ns, from: first.next, until: T + 10, limit: 10 });
			expect(repeat.events.map((e) => [e.id, e.occurrences, e.lastSeenAt])).toEqual([[opened.id, 3, T + 5]]);
			expect((await store.exceptionsSeen({ namespace: ns, from: repeat.next, until: T + 20, limit: 10 })).events).toEqual([]);

			await store.recordExceptions(ns, [exception('j')], actor, T + 30);
			await store.resolveException({ id: null, namespace: ns, key: 'j', resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T + 31);
			expect((await store.exceptionsSeen({ namespace: ns, from: repeat.next, until: T + 40, limit: 10 })).events).toEqual([]);
		});

		it('pages through exceptions seen at the same time exactly once each', async () => {
			const keys = Array.from({ length: 7 }, (_, i) => `k${i}`);
			await store.recordExceptions(ns, keys.map((k) => exception(k)), actor, T);
			await store.recordExceptions(other, keys.slice(0, 3).map((k) => exception(k)), actor, T);
			const all = await store.exceptionsSeen({ namespace: null, from: { at: T - 1, after: null }, until: T, limit: 1000 });
			const mine = all.events.filter((e) => e.namespace === ns || e.namespace === other);
			expect(mine).toHaveLength(10);
			const { events, pages } = await drain((q) => store.exceptionsSeen(q), { namespace: null, from: { at: T - 1, after: null }, until: T, limit: 3 });
			expect(events.filter((e) => e.namespace === ns || e.namespace === other).map((e) => e.id)).toEqual(mine.map((e) => e.id));
			expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
			expect(pages).toBeGreaterThan(3);
		});
		it('clamps the limit alike: 0 means the default of 100, more than 1000 means 1000, less than 1 means 1', async () => {
			const lease = { ...basePolicy, leaseMs: 1_000 };
			const keys = Array.from({ length: 1005 }, (_, i) => `k${String(i).padStart(4, '0')}`);
			await store.claim(ns, keys.slice(0, 1000).map((key) => ({ key, fingerprint: null })), lease, actor, T);
			await store.claim(ns, keys.slice(1000).map((key) => ({ key, fingerprint: null })), lease, actor, T);
			const read = (limit: number) => store.stuckClaims({ namespace: ns, from: { at: T, after: null }, until: T + 1_000, limit });
			expect((await read(0)).events).toHaveLength(100);
			const most = await read(5000);
			expect(most.events).toHaveLength(1000);
			expect(most.next).toEqual({ at: T + 1_000, after: [ns, 'k0999'] });
			expect((await read(-3)).events).toHaveLength(1);
			await store.recordExceptions(ns, keys.slice(0, 120).map((k) => exception(k)), actor, T);
			const seen = (limit: number) => store.exceptionsSeen({ namespace: ns, from: { at: T - 1, after: null }, until: T, limit });
			expect((await seen(0)).events).toHaveLength(100);
			expect((await seen(5000)).events).toHaveLength(120);
			expect((await seen(-3)).events).toHaveLength(1);
		});
	});
}
