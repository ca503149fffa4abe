// Faults on every store that has a network (Postgres, Redis): a store nobody answers at fails
// fast and names where it looked; connections cut between calls are made again without a restart;
// a reply lost on the way back (the server did the work, the caller never heard) leaves a chunk
// all or nothing and a transition applied once, and never gives a key a second `new`. Connections
// pass through a TCP proxy (test/helpers/tcpProxy.ts), so only this file's own are cut.

import { randomUUID } from 'crypto';
import { StoreUnavailableError } from '../../../nodes/shared/store/errors';
import type { IdempotencyStore } from '../../../nodes/shared/store/types';
import { actor, basePolicy, rejectionOf, transitionRequest, type FixtureFactory, type ProxiedStore, type StoreFixture } from './fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeFaultConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: faults`, () => {
		let fixture: StoreFixture;
		let proxied: ProxiedStore;
		let store: IdempotencyStore;
		let ns: string;

		beforeAll(async () => {
			fixture = await open();
			proxied = await fixture.openProxied!();
			store = proxied.store;
			// Connects and prepares everything, so that the next reply dropped is the one a test means.
			const warm = `warm-${randomUUID()}`;
			const [claimed] = await store.claim(warm, [{ key: 'w', fingerprint: null }], basePolicy, actor);
			const [settled] = await store.transition(warm, [transitionRequest('markProcessed', 'w', claimed.claimToken)], actor);
			expect(settled.applied).toBe(true);
		});
		afterAll(async () => {
			await proxied?.close();
			await fixture?.cleanup();
		});
		beforeEach(() => {
			ns = `fault-${randomUUID()}`;
		});

		it('fails fast when nothing answers, naming where it looked', async () => {
			const down = fixture.openUnreachable!();
			try {
				const started = Date.now();
				const calls: Array<[string, () => Promise<unknown>]> = [
					['claim', () => down.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor)],
					['get', () => down.get(ns, 'k')],
					['transition', () => down.transition(ns, [transitionRequest('markReceived', 'k', null)], actor)],
					['list', () => down.list(ns, { limit: 10 })],
					['recordExceptions', () => down.recordExceptions(ns, [{ key: 'k', reason: 'r', owner: 'o', severity: 'low', route: 'R' }], actor)],
				];
				// All at once: each waits out the client's connection attempts.
				const [health, ...errors] = await Promise.all([down.health(), ...calls.map(([, call]) => rejectionOf(call))]);
				calls.forEach(([what], i) => {
					expect({ what, name: errors[i].name }).toEqual({ what, name: 'StoreUnavailableError' });
					expect(errors[i]).toBeInstanceOf(StoreUnavailableError);
					expect(errors[i].message).toContain(fixture.unreachableWhere!);
				});
				expect(Date.now() - started).toBeLessThan(10_000);
				expect(health.ok).toBe(false);
				expect(health.message).toContain(fixture.unreachableWhere!);
			} finally {
				await down.close();
			}
		});

		it('connects again by itself after every connection was cut between calls', async () => {
			expect((await store.claim(ns, [{ key: 'a', fingerprint: null }], basePolicy, actor))[0].outcome).toBe('new');
			expect(proxied.proxy.cutAll()).toBeGreaterThan(0);
			await sleep(100);
			const [again] = await store.claim(ns, [{ key: 'a', fingerprint: null }], basePolicy, actor);
			expect(again).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
			expect(proxied.proxy.connections).toBeGreaterThan(1);
		});

		it('a reply lost mid-claim leaves the chunk all or nothing, and no key new twice', async () => {
			const requests = Array.from({ length: 500 }, (_, i) => ({ key: `k-${String(i).padStart(3, '0')}`, fingerprint: null }));
			const drops = proxied.proxy.drops;
			void proxied.proxy.dropNextReply(proxied.claimMarker);
			const answer = await store.claim(ns, requests, basePolicy, actor).then(
				(decisions) => ({ decisions, error: null }),
				(error: Error) => ({ decisions: null, error }),
			);
			expect(proxied.proxy.drops).toBe(drops + 1);
			if (answer.error) expect(answer.error).toBeInstanceOf(StoreUnavailableError);
			const stored = await Promise.all(requests.map((r) => store.get(ns, r.key)));
			const present = stored.filter(Boolean).length;
			expect([0, requests.length]).toContain(present);
			if (answer.decisions) {
				// Answered after all: the caller owns the claims it was told about, no one else does.
				expect(answer.decisions.map((d) => d.outcome)).toEqual(requests.map(() => 'new'));
				expect(stored.map((r) => r?.claimToken)).toEqual(answer.decisions.map((d) => d.claimToken));
			}
			const again = await store.claim(ns, requests, basePolicy, actor);
			expect(again.filter((d) => d.outcome === 'new')).toHaveLength(requests.length - present);
			for (const key of ['k-000', 'k-499']) {
				expect((await store.history(ns, key)).filter((h) => h.event === 'claimed')).toHaveLength(1);
			}
		});

		it('a reply lost after markProcessed leaves the key processed once', async () => {
			const [claimed] = await store.claim(ns, [{ key: 'a', fingerprint: null }], basePolicy, actor);
			const drops = proxied.proxy.drops;
			void proxied.proxy.dropNextReply(proxied.transitionMarker);
			const answer = await store
				.transition(ns, [transitionRequest('markProcessed', 'a', claimed.claimToken, { resultJson: '{"id":1}' })], actor)
				.then((results) => ({ results, error: null }), (error: Error) => ({ results: null, error }));
			expect(proxied.proxy.drops).toBe(drops + 1);
			if (answer.error) expect(answer.error).toBeInstanceOf(StoreUnavailableError);
			else expect(answer.results?.[0]).toMatchObject({ applied: true, noop: false, rejectReason: null });
			expect(await store.get(ns, 'a')).toMatchObject({ state: 'processed', result: { id: 1 } });
			expect((await store.history(ns, 'a')).map((h) => h.event)).toEqual(['claimed', 'processed']);
			const [dup] = await store.claim(ns, [{ key: 'a', fingerprint: null }], basePolicy, actor);
			expect(dup).toMatchObject({ outcome: 'duplicate', reason: 'already_processed', result: { id: 1 } });
		});
	});
}
