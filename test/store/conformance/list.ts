// The Ledger's list on every store: pages without gaps or repeats, filters by state, stuck lease
// and age, a cursor whose record moved since, records past retention left out, limits clamped.

import type { ListQuery } from '../../../nodes/shared/store/types';
import { actor, basePolicy, MINUTE, transitionRequest, useStore, type FixtureFactory } from './fixture';

export function describeListConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: list`, () => {
		const s = useStore(open, 'list');
		const T0 = Date.now();
		const policy = { ...basePolicy, retentionMs: 0 };

		/** Every page of a query, as the Ledger's paging would fetch them. */
		const collect = async (query: ListQuery, now: number): Promise<string[][]> => {
			const pages: string[][] = [];
			let cursor: string | null = null;
			do {
				const page = await s.store.list(s.ns, { ...query, cursor }, now);
				pages.push(page.records.map((r) => r.key));
				cursor = page.nextCursor;
			} while (cursor && pages.length < 50);
			return pages;
		};
		const keysOf = async (query: ListQuery, now: number) => (await s.store.list(s.ns, query, now)).records.map((r) => r.key);

		it('pages through 250 keys claimed at the same moment, by state and by key, without gaps or repeats', async () => {
			const keys = Array.from({ length: 250 }, (_, i) => `k-${String(i).padStart(3, '0')}`);
			await s.store.claim(s.ns, keys.map((key) => ({ key, fingerprint: null })), policy, actor, T0);
			for (const query of [{ limit: 100 }, { limit: 100, state: 'processing' as const }, { limit: 100, stuckOnly: true }]) {
				const pages = await collect(query, T0 + 2 * MINUTE);
				expect({ query, sizes: pages.map((p) => p.length) }).toEqual({ query, sizes: [100, 100, 50] });
				expect(pages.flat().sort()).toEqual(keys);
			}
			expect((await s.store.list(s.ns, { limit: 250 }, T0)).nextCursor).toBeNull();
		});

		it('clamps the limit: 0 means the default of 100, more than 1000 means 1000', async () => {
			const keys = Array.from({ length: 1001 }, (_, i) => `c-${String(i).padStart(4, '0')}`);
			await s.store.claim(s.ns, keys.slice(0, 1000).map((key) => ({ key, fingerprint: null })), policy, actor, T0);
			await s.store.claim(s.ns, keys.slice(1000).map((key) => ({ key, fingerprint: null })), policy, actor, T0);
			expect((await s.store.list(s.ns, { limit: 0 }, T0)).records).toHaveLength(100);
			const most = await s.store.list(s.ns, { limit: 5000 }, T0);
			expect(most.records).toHaveLength(1000);
			expect(most.nextCursor).not.toBeNull();
			expect((await s.store.list(s.ns, { limit: 5000, cursor: most.nextCursor }, T0)).records.map((r) => r.key)).toEqual(['c-1000']);
			expect((await s.store.list(s.ns, { limit: 2.7 }, T0)).records).toHaveLength(2);
		});

		it('filters by state, stuck leases and age', async () => {
			const a = await s.claimOne('a', T0, { leaseMs: MINUTE, retentionMs: 0 });
			await s.claimOne('b', T0 + 10, { leaseMs: 10 * MINUTE, retentionMs: 0 });
			await s.claimOne('c', T0 + 20, { leaseMs: MINUTE, retentionMs: 0 });
			await s.transitionOne(transitionRequest('markProcessed', 'a', a.claimToken, { retentionMs: 0 }), T0 + 30);
			await s.transitionOne(transitionRequest('markReceived', 'd', null, { retentionMs: 0 }), T0 + 40);
			const now = T0 + 2 * MINUTE;
			expect(await keysOf({ limit: 10 }, now)).toEqual(['a', 'b', 'c', 'd']);
			expect(await keysOf({ limit: 10, state: 'processing' }, now)).toEqual(['b', 'c']);
			expect(await keysOf({ limit: 10, stuckOnly: true }, now)).toEqual(['c']);
			expect(await keysOf({ limit: 10, stuckOnly: true, state: 'processed' }, now)).toEqual([]);
			expect(await keysOf({ limit: 10, state: 'processed' }, now)).toEqual(['a']);
			expect(await keysOf({ limit: 10, olderThanMs: now - (T0 + 15) }, now)).toEqual(['b']);
			expect(await keysOf({ limit: 10, state: 'processing', olderThanMs: now - (T0 + 20) }, now)).toEqual(['b', 'c']);
			expect(await keysOf({ limit: 10, state: 'processing', olderThanMs: now - (T0 + 19) }, now)).toEqual(['b']);
		});

		it('continues after a cursor whose record has moved since', async () => {
			const tokens = new Map<string, string | null>();
			for (const key of ['a', 'b', 'c', 'd']) tokens.set(key, (await s.claimOne(key, T0)).claimToken);
			const first = await s.store.list(s.ns, { limit: 2, state: 'processing' }, T0);
			expect(first.records.map((r) => r.key)).toEqual(['a', 'b']);
			await s.settle('markProcessed', 'b', tokens.get('b') ?? null, T0 + 1);
			const second = await s.store.list(s.ns, { limit: 2, state: 'processing', cursor: first.nextCursor }, T0 + 1);
			expect(second.records.map((r) => r.key)).toEqual(['c', 'd']);
			expect(second.nextCursor).toBeNull();
		});

		it('leaves out records past retention, even when they are most of the namespace', async () => {
			const keys = Array.from({ length: 1200 }, (_, i) => `e-${String(i).padStart(4, '0')}`);
			const decisions = [];
			for (let i = 0; i < keys.length; i += 600) {
				const chunk = keys.slice(i, i + 600).map((key) => ({ key, fingerprint: null }));
				decisions.push(...(await s.store.claim(s.ns, chunk, { ...basePolicy, retentionMs: 1 }, actor, T0)));
			}
			// All 1200 settle with a 1 ms retention: past retention at T0 + 10, not yet purged.
			await s.store.transition(s.ns, decisions.map((d) => transitionRequest('markProcessed', d.key, d.claimToken)), actor, T0 + 2);
			await s.claimOne('z-live', T0 + 5, { retentionMs: 0 });
			expect((await collect({ limit: 10 }, T0 + 10)).flat()).toEqual(['z-live']);
			expect((await collect({ limit: 10, state: 'processed' }, T0 + 10)).flat()).toEqual([]);
			expect((await collect({ limit: 1000, state: 'processed' }, T0 + 2)).flat()).toHaveLength(1200);
		});

		it('gives an empty page and no cursor for a namespace without records', async () => {
			expect(await s.store.list(s.ns, { limit: 10 }, T0)).toEqual({ records: [], nextCursor: null });
			expect(await s.store.list(s.ns, { limit: 10, stuckOnly: true }, T0)).toEqual({ records: [], nextCursor: null });
		});
	});
}
