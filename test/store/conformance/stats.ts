// The Ledger's stats on every store: decisions and transitions counted in the window, ambiguous by
// reason, wait polls and forced moves not counted, replays counted as released, open exceptions.

import { actor, basePolicy, HOUR, transitionRequest, useStore, type FixtureFactory } from './fixture';

export function describeStatsConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: stats`, () => {
		const s = useStore(open, 'stats');
		// Whole hours, so that an hourly counter and an exact window count the same events.
		const T0 = Math.floor(Date.now() / HOUR) * HOUR + 60_000;
		const { claimOne } = s;

		it('counts decisions and transitions in the window, by ambiguous reason', async () => {
			const a = await claimOne('a', T0, {}, 'fp');
			await claimOne('a', T0 + 1); // ambiguous in_progress
			await claimOne('a', T0 + 2, { onInProgress: 'pending' }); // not counted
			await s.settle('markProcessed', 'a', a.claimToken, T0 + 3);
			await claimOne('a', T0 + 4); // duplicate
			await claimOne('a', T0 + 5, {}, 'other'); // ambiguous payload_mismatch
			await claimOne('a', T0 + 6); // duplicate
			const b = await claimOne('b', T0 + 7);
			await s.settle('markFailed', 'b', b.claimToken, T0 + 8);
			await claimOne('b', T0 + 9); // new (retry)
			await s.transitionOne(transitionRequest('release', 'b', null, { verifyClaim: false }), T0 + 10);
			await s.transitionOne(transitionRequest('markProcessed', 'c', null, { force: true }), T0 + 11); // forced: not counted
			await s.store.claim(s.ns, [{ key: 'd', fingerprint: null, repeats: { duplicates: 2, mismatches: 1 } }], basePolicy, actor, T0 + 12);

			expect(await s.store.stats(s.ns, HOUR, T0 + 20)).toEqual({
				namespace: s.ns,
				since: T0 + 20 - HOUR,
				until: T0 + 20,
				new: 4,
				duplicate: 4,
				ambiguous: 3,
				ambiguousByReason: { in_progress: 1, payload_mismatch: 1, duplicate_in_batch: 1 },
				processed: 1,
				failed: 1,
				released: 1,
				openExceptions: 0,
			});
			expect(await s.store.stats(s.ns, HOUR, T0 + 3 * HOUR)).toMatchObject({ new: 0, duplicate: 0, ambiguous: 0, processed: 0 });
			expect((await s.store.stats(s.ns, 24 * HOUR, T0 + 3 * HOUR)).new).toBe(4);
		});

		it('counts every duplicate of a long run of deliveries', async () => {
			const first = await claimOne('k', T0);
			await s.settle('markProcessed', 'k', first.claimToken, T0 + 1);
			for (let i = 0; i < 25; i++) await claimOne('k', T0 + 2 + i);
			expect(await s.store.stats(s.ns, HOUR, T0 + 100)).toMatchObject({ new: 1, duplicate: 25, processed: 1 });
			expect((await s.store.get(s.ns, 'k'))?.duplicateCount).toBe(25);
		});

		it('counts a replay as released and open exceptions until they are resolved', async () => {
			const d = await claimOne('k', T0);
			await s.settle('markProcessed', 'k', d.claimToken, T0 + 1);
			const exception = (key: string) => ({ key, reason: 'write_timeout', owner: 'ops', severity: 'high' as const, route: 'Finance' });
			const [first] = await s.store.recordExceptions(s.ns, [exception('k'), exception('j'), exception('k')], actor, T0 + 2);
			expect((await s.store.stats(s.ns, HOUR, T0 + 3)).openExceptions).toBe(2);
			await s.store.resolveException({ id: first.id, namespace: null, key: null, resolution: 'replay', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 4);
			expect(await s.store.stats(s.ns, HOUR, T0 + 5)).toMatchObject({ new: 1, processed: 1, released: 1, openExceptions: 1 });
			expect(await s.store.get(s.ns, 'k')).toBeNull();
		});

		it('gives zeros for a namespace without events', async () => {
			expect(await s.store.stats(s.ns, HOUR, T0)).toEqual({
				namespace: s.ns,
				since: T0 - HOUR,
				until: T0,
				new: 0,
				duplicate: 0,
				ambiguous: 0,
				ambiguousByReason: {},
				processed: 0,
				failed: 0,
				released: 0,
				openExceptions: 0,
			});
		});
	});
}
