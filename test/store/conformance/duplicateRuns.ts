// Duplicate runs (docs/CONTRACT.md §12) on every store: consecutive `duplicate_seen` events of a
// key are one history event { at, lastAt, count }, in-batch repeats join the run, any other event
// ends it, concurrent duplicates never lose a count, and stats still count every delivery in the
// hour it happened.

import { randomUUID } from 'crypto';
import type { ClaimPolicy, HistoryEntry, IdempotencyStore } from '../../../nodes/shared/store/types';
import { actor, basePolicy, HOUR, transitionRequest, type FixtureFactory, type StoreFixture } from './fixture';

export function describeDuplicateRunConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: duplicate runs`, () => {
		let fixture: StoreFixture;
		let store: IdempotencyStore;
		let ns: string;
		// The start of an hour, so that "the same hour" below is true whatever the time of day.
		const T0 = Date.now() - (Date.now() % HOUR) - 2 * HOUR;

		beforeAll(async () => {
			fixture = await open();
			store = fixture.store;
		});
		afterAll(async () => {
			await fixture.cleanup();
		});
		beforeEach(() => {
			ns = `runs-${randomUUID()}`;
		});

		const claimOne = async (key: string, at: number, policy: Partial<ClaimPolicy> = {}, duplicates = 0, mismatches = 0) =>
			(await store.claim(ns, [{ key, fingerprint: mismatches ? 'fp' : null, repeats: { duplicates, mismatches } }], { ...basePolicy, ...policy }, actor, at))[0];
		const processed = async (key: string, at: number) => {
			const claim = await claimOne(key, at);
			expect(claim.outcome).toBe('new');
			const [done] = await store.transition(ns, [transitionRequest('markProcessed', key, claim.claimToken)], actor, at + 1);
			expect(done.applied).toBe(true);
		};
		const shape = (history: HistoryEntry[]) =>
			history.map((h) => (h.event === 'duplicate_seen' ? [h.event, h.reason, h.at, h.lastAt, h.count] : [h.event, h.reason, h.at]));

		it('keeps 5 duplicates and an in-batch repeat as one event of count 6', async () => {
			await processed('k', T0);
			for (let i = 0; i < 4; i++) expect(await claimOne('k', T0 + 10 + i)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed' });
			expect(await claimOne('k', T0 + 14, {}, 1)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed' });

			const history = await store.history(ns, 'k');
			expect(shape(history)).toEqual([
				['claimed', 'first_seen', T0],
				['processed', null, T0 + 1],
				['duplicate_seen', 'already_processed', T0 + 10, T0 + 14, 6],
			]);
			expect(history[2]).toMatchObject(actor);
			// The record counts deliveries as before (an in-batch repeat is not one: docs/CONTRACT.md §5).
			expect((await store.get(ns, 'k'))?.duplicateCount).toBe(5);
			expect((await store.stats(ns, HOUR, T0 + 20)).duplicate).toBe(6);
		});

		it('splits runs at every other event: processed, a mismatch, a release', async () => {
			const claim = await claimOne('k', T0, {}, 2); // two in-batch duplicates of a fresh key: a run
			await claimOne('k', T0 + 1, { onInProgress: 'duplicate' }); // joins it
			await claimOne('k', T0 + 2, { onInProgress: 'pending' }); // a wait poll: no event, the run goes on
			await claimOne('k', T0 + 3, { onInProgress: 'duplicate' });
			await store.transition(ns, [transitionRequest('markProcessed', 'k', claim.claimToken)], actor, T0 + 4);
			await claimOne('k', T0 + 5);
			await claimOne('k', T0 + 6, {}, 0, 1); // a duplicate, then an in-batch mismatch ends the run
			await claimOne('k', T0 + 7);
			await store.transition(ns, [transitionRequest('release', 'k', null, { verifyClaim: false })], actor, T0 + 8);
			expect(await claimOne('k', T0 + 9)).toMatchObject({ outcome: 'new' });

			expect(shape(await store.history(ns, 'k'))).toEqual([
				['claimed', 'first_seen', T0],
				['duplicate_seen', 'duplicate_in_batch', T0, T0 + 3, 4],
				['processed', null, T0 + 4],
				['duplicate_seen', 'already_processed', T0 + 5, T0 + 6, 2],
				['ambiguous_seen', 'duplicate_in_batch', T0 + 6],
				['duplicate_seen', 'already_processed', T0 + 7, T0 + 7, 1],
				['released', null, T0 + 8],
				['claimed', 'first_seen', T0 + 9],
			]);
			expect(await store.stats(ns, HOUR, T0 + 10)).toMatchObject({ new: 2, duplicate: 7, ambiguous: 1, processed: 1, released: 1 });
		});

		it('ends the run of a key a claim took, and keeps it ended when the claim is undone', async () => {
			// Processed with a 100 ms retention, two duplicates (an open run), then past retention a
			// claim takes the key (new) and is undone: the restored record has no run left open.
			const first = await claimOne('k', T0, { retentionMs: 100 });
			await store.transition(ns, [transitionRequest('markProcessed', 'k', first.claimToken, { retentionMs: 100 })], actor, T0 + 1);
			await claimOne('k', T0 + 10);
			await claimOne('k', T0 + 20);
			const [again] = await store.claim(ns, [{ key: 'k', fingerprint: null, repeats: { duplicates: 1, mismatches: 0 } }], basePolicy, actor, T0 + 500);
			expect(again.outcome).toBe('new');
			expect(await store.restore(ns, [{ key: 'k', claimToken: again.claimToken!, prior: again.prior ?? null }], actor, T0 + 501)).toEqual([true]);
			const fresh = await claimOne('fresh', T0 + 600, {}, 3);
			expect(await store.restore(ns, [{ key: 'fresh', claimToken: fresh.claimToken!, prior: null }], actor, T0 + 601)).toEqual([true]);

			expect(shape(await store.history(ns, 'k'))).toEqual([
				['claimed', 'first_seen', T0],
				['processed', null, T0 + 1],
				['duplicate_seen', 'already_processed', T0 + 10, T0 + 20, 2],
				['claimed', 'first_seen', T0 + 500],
				['duplicate_seen', 'duplicate_in_batch', T0 + 500, T0 + 500, 1],
				['released', 'rollback', T0 + 501],
			]);
			expect(await store.get(ns, 'k')).toMatchObject({ state: 'processed', duplicateCount: 2 });
			expect(shape(await store.history(ns, 'fresh'))).toEqual([
				['claimed', 'first_seen', T0 + 600],
				['duplicate_seen', 'duplicate_in_batch', T0 + 600, T0 + 600, 3],
				['released', 'rollback', T0 + 601],
			]);
			expect(await store.stats(ns, HOUR, T0 + 700)).toMatchObject({ new: 3, duplicate: 6, released: 2 });
		});

		it('counts every concurrent duplicate exactly, from two stores at once', async () => {
			const peer = await fixture.openPeer();
			try {
				const keys = ['a', 'b', 'c'];
				for (const key of keys) await processed(key, T0);
				const rounds = 20;
				const both = [store, peer];
				await Promise.all(
					Array.from({ length: rounds * 2 }, (_, i) =>
						both[i % 2].claim(ns, (i % 4 < 2 ? keys : [...keys].reverse()).map((key) => ({ key, fingerprint: null, repeats: { duplicates: 1, mismatches: 0 } })), basePolicy, actor, T0 + 10 + i),
					),
				);
				for (const key of keys) {
					const history = await store.history(ns, key);
					expect(history.map((h) => [h.event, h.count ?? null])).toEqual([
						['claimed', null],
						['processed', null],
						['duplicate_seen', rounds * 2 * 2],
					]);
					expect((await store.get(ns, key))?.duplicateCount).toBe(rounds * 2);
				}
				expect((await store.stats(ns, HOUR, T0 + 100)).duplicate).toBe(keys.length * rounds * 2 * 2);
			} finally {
				await peer.close();
			}
		});

		it('counts a run in the hour of each delivery: a window of the last hour sees only its part', async () => {
			await processed('k', T0);
			await claimOne('k', T0 + 10);
			await claimOne('k', T0 + 20, {}, 2);
			await claimOne('k', T0 + HOUR + 5);
			expect(shape(await store.history(ns, 'k')).pop()).toEqual(['duplicate_seen', 'already_processed', T0 + 10, T0 + HOUR + 5, 5]);
			expect((await store.stats(ns, 10, T0 + HOUR + 30)).duplicate).toBe(1);
			expect((await store.stats(ns, 2 * HOUR, T0 + HOUR + 30)).duplicate).toBe(5);
		});
	});
}
