// The Ledger's purge on every store: records past retention go with their history, and nothing
// else; more than one batch; a second purge finds nothing.

import { actor, basePolicy, DAY, transitionRequest, useStore, type FixtureFactory } from './fixture';

export function describePurgeConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: purge`, () => {
		const s = useStore(open, 'purge');
		const T0 = Date.now();
		const { claimOne } = s;

		it('deletes records past retention with their history, and nothing else', async () => {
			for (const key of ['p1', 'p2', 'p3']) {
				const d = await claimOne(key, T0, { retentionMs: 1000 });
				await claimOne(key, T0 + 1);
				await s.settle('markProcessed', key, d.claimToken, T0 + 2);
			}
			const f = await claimOne('forever', T0, { retentionMs: 0 });
			await s.settle('markProcessed', 'forever', f.claimToken, T0 + 2);
			const later = await claimOne('later', T0, { retentionMs: DAY });
			await s.settle('markFailed', 'later', later.claimToken, T0 + 2);
			await claimOne('running', T0, { retentionMs: 1000 });

			expect(await s.store.purge(s.ns, T0 + 500)).toEqual({ records: 0, history: 0 });
			expect(await s.store.purge(s.ns, T0 + 5000)).toEqual({ records: 3, history: 9 });
			for (const key of ['p1', 'p2', 'p3']) {
				expect(await s.store.get(s.ns, key)).toBeNull();
				expect(await s.store.history(s.ns, key)).toEqual([]);
			}
			for (const key of ['forever', 'later', 'running']) {
				expect({ key, state: (await s.store.get(s.ns, key))?.state }).toEqual({ key, state: expect.any(String) });
				expect((await s.store.history(s.ns, key)).length).toBeGreaterThan(0);
			}
			expect((await s.store.list(s.ns, { limit: 10 }, T0 + 5000)).records.map((r) => r.key)).toEqual(['forever', 'later', 'running']);
			expect(await s.store.purge(s.ns, T0 + 5000)).toEqual({ records: 0, history: 0 });
		});

		it('purges more than one batch', async () => {
			const keys = Array.from({ length: 1100 }, (_, i) => `m-${i}`);
			const policy = { ...basePolicy, retentionMs: 10 };
			const decisions = [
				...(await s.store.claim(s.ns, keys.slice(0, 1000).map((key) => ({ key, fingerprint: null })), policy, actor, T0)),
				...(await s.store.claim(s.ns, keys.slice(1000).map((key) => ({ key, fingerprint: null })), policy, actor, T0)),
			];
			await s.store.transition(s.ns, decisions.map((d) => transitionRequest('markFailed', d.key, d.claimToken)), actor, T0 + 1);
			expect(await s.store.purge(s.ns, T0 + 100)).toEqual({ records: 1100, history: 2200 });
			expect((await s.store.list(s.ns, { limit: 10 }, T0 + 100)).records).toEqual([]);
			expect(await s.store.get(s.ns, 'm-1099')).toBeNull();
		});

		it('keeps a record that was claimed again after its retention, with its new life', async () => {
			const d = await claimOne('k', T0, { retentionMs: 1000 });
			await s.settle('markProcessed', 'k', d.claimToken, T0 + 1);
			const again = await claimOne('k', T0 + 2000, { retentionMs: 1000 });
			expect(again).toMatchObject({ outcome: 'new', reason: 'first_seen' });
			expect((await s.store.purge(s.ns, T0 + 5000)).records).toBe(0);
			expect(await s.store.get(s.ns, 'k')).toMatchObject({ state: 'processing', claimToken: again.claimToken });
		});
	});
}
