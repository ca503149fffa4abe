// Reliability on every store: a replay never releases a live claim unless forced; a failed input
// is undone to exactly the records it found (restore); every read of time uses the store's clock,
// so a worker whose clock is off does not see live claims as stuck.

import { randomUUID } from 'crypto';
import type { ClaimDecision, IdempotencyStore, OpenExceptionRequest } from '../../../nodes/shared/store/types';
import { actor, basePolicy, DAY, MINUTE, transitionRequest, type FixtureFactory, type StoreFixture } from './fixture';

const exceptionRequest = (key: string, reason = 'in_progress'): OpenExceptionRequest => ({
	key,
	reason,
	owner: 'ops',
	severity: 'high',
	route: 'Ops',
});

export function describeReliabilityConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: reliability (replay, restore, one clock)`, () => {
		let fixture: StoreFixture;
		let store: IdempotencyStore;
		let ns: string;

		beforeAll(async () => {
			fixture = await open();
			store = fixture.store;
		});
		afterAll(async () => {
			jest.restoreAllMocks();
			await fixture?.cleanup();
		});
		beforeEach(() => {
			ns = `rel-${randomUUID()}`;
		});

		const claimOne = async (key: string, now?: number, policy = basePolicy): Promise<ClaimDecision> =>
			(await store.claim(ns, [{ key, fingerprint: null }], policy, actor, now))[0];

		describe('replay of a live claim', () => {
			it('is refused while the lease is valid: nothing changes and the exception stays open', async () => {
				const T0 = Date.now();
				const claim = await claimOne('inv-1', T0);
				const [exception] = await store.recordExceptions(ns, [exceptionRequest('inv-1')], actor, T0 + 1);
				const before = await store.get(ns, 'inv-1');
				const historyBefore = await store.history(ns, 'inv-1');

				const result = await store.resolveException(
					{ id: exception.id, namespace: null, key: null, resolution: 'replay', resolvedBy: 'jane', note: null, resultJson: null },
					actor,
					T0 + 2,
				);
				expect(result.refused).toBe('live_claim');
				expect(result.exceptions).toEqual([]);
				expect(result.record).toMatchObject({ state: 'processing', claimToken: claim.claimToken });
				expect(await store.get(ns, 'inv-1')).toEqual(before);
				expect(await store.history(ns, 'inv-1')).toEqual(historyBefore);
				expect(await store.getException(exception.id)).toMatchObject({ status: 'open', resolution: null });
				// The next delivery is still in progress, not new: nobody writes a second time.
				expect(await claimOne('inv-1', T0 + 3)).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
			});

			it('is refused by namespace and key too', async () => {
				const T0 = Date.now();
				await claimOne('inv-2', T0);
				await store.recordExceptions(ns, [exceptionRequest('inv-2'), exceptionRequest('inv-2', 'write_timeout')], actor, T0 + 1);
				const result = await store.resolveException(
					{ id: null, namespace: ns, key: 'inv-2', resolution: 'replay', resolvedBy: null, note: null, resultJson: null },
					actor,
					T0 + 2,
				);
				expect(result).toMatchObject({ refused: 'live_claim', exceptions: [] });
				expect((await store.listOpenExceptions({ namespace: ns, limit: 10 }, T0 + 3)).map((e) => e.reason).sort()).toEqual([
					'in_progress',
					'write_timeout',
				]);
			});

			it('releases the key when forced, recorded as forced', async () => {
				const T0 = Date.now();
				await claimOne('inv-3', T0);
				const [exception] = await store.recordExceptions(ns, [exceptionRequest('inv-3')], actor, T0 + 1);
				const result = await store.resolveException(
					{ id: exception.id, namespace: null, key: null, resolution: 'replay', resolvedBy: 'jane', note: 'worker is dead', resultJson: null, force: true },
					actor,
					T0 + 2,
				);
				expect(result.refused ?? null).toBeNull();
				expect(result.exceptions).toHaveLength(1);
				expect(result.record).toBeNull();
				expect(await store.get(ns, 'inv-3')).toBeNull();
				const last = (await store.history(ns, 'inv-3')).pop();
				expect(last).toMatchObject({ event: 'forced', reason: 'replay' });
				expect(last?.detail).toMatchObject({ from: 'processing', to: 'released', kind: 'release', resolution: 'replay', exceptionIds: [exception.id] });
				expect(await claimOne('inv-3', T0 + 3)).toMatchObject({ outcome: 'new', reason: 'first_seen' });
			});

			it('releases a claim whose lease has run out without force', async () => {
				const T0 = Date.now();
				await claimOne('inv-4', T0, { ...basePolicy, leaseMs: MINUTE });
				const [exception] = await store.recordExceptions(ns, [exceptionRequest('inv-4', 'lease_expired')], actor, T0 + 1);
				const result = await store.resolveException(
					{ id: exception.id, namespace: null, key: null, resolution: 'replay', resolvedBy: null, note: null, resultJson: null },
					actor,
					T0 + MINUTE + 1,
				);
				expect(result).toMatchObject({ refused: null, record: null });
				expect(result.exceptions).toHaveLength(1);
				expect((await store.history(ns, 'inv-4')).pop()).toMatchObject({ event: 'released', reason: 'replay' });
			});
		});

		describe('restore (a failed input is undone exactly)', () => {
			it('gives a retried failed key back its attempt, error, expiry and token', async () => {
				const T0 = Date.now();
				const first = await claimOne('f', T0);
				await store.transition(ns, [transitionRequest('markFailed', 'f', first.claimToken, { errorMessage: 'CRM 503' })], actor, T0 + 1);
				const failed = await store.get(ns, 'f');
				expect(failed).toMatchObject({ state: 'failed', attempt: 1, lastError: 'CRM 503', expiresAt: T0 + 1 + DAY });

				const retry = await claimOne('f', T0 + 2);
				expect(retry).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 2 });
				expect(retry.prior).toBeTruthy();
				expect(await store.restore(ns, [{ key: 'f', claimToken: retry.claimToken!, prior: retry.prior ?? null }], actor, T0 + 3)).toEqual([true]);
				expect(await store.get(ns, 'f')).toEqual(failed);
				const last = (await store.history(ns, 'f')).pop();
				expect(last).toMatchObject({ event: 'released', reason: 'rollback' });
				// The redelivery is the same retry again, attempt 2 — no attempt was used up.
				expect(await claimOne('f', T0 + 4)).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 2 });
			});

			it('gives a received key back its state, and deletes a key that had no record', async () => {
				const T0 = Date.now();
				await store.transition(ns, [transitionRequest('markReceived', 'r', null, { verifyClaim: false })], actor, T0);
				const received = await store.get(ns, 'r');
				const [onReceived, fresh] = await store.claim(ns, [{ key: 'r', fingerprint: null }, { key: 'n', fingerprint: null }], basePolicy, actor, T0 + 1);
				expect(onReceived).toMatchObject({ outcome: 'new', reason: 'first_seen' });
				expect(fresh).toMatchObject({ outcome: 'new', reason: 'first_seen', prior: null });
				const restored = await store.restore(
					ns,
					[onReceived, fresh].map((d) => ({ key: d.key, claimToken: d.claimToken!, prior: d.prior ?? null })),
					actor,
					T0 + 2,
				);
				expect(restored).toEqual([true, true]);
				expect(await store.get(ns, 'r')).toEqual(received);
				expect(await store.get(ns, 'n')).toBeNull();
				expect(await claimOne('n', T0 + 3)).toMatchObject({ outcome: 'new', reason: 'first_seen', attempt: 1 });
			});

			it('gives an expired record back with its result and duplicate count', async () => {
				const T0 = Date.now();
				const first = await claimOne('p', T0);
				await store.transition(ns, [transitionRequest('markProcessed', 'p', first.claimToken, { resultJson: '{"id":7}' })], actor, T0 + 1);
				await claimOne('p', T0 + 2);
				await claimOne('p', T0 + 3);
				const processed = await store.get(ns, 'p');
				expect(processed).toMatchObject({ state: 'processed', duplicateCount: 2, result: { id: 7 } });
				const later = T0 + 1 + DAY + MINUTE;
				const again = await claimOne('p', later);
				expect(again).toMatchObject({ outcome: 'new', reason: 'first_seen' });
				expect(await store.restore(ns, [{ key: 'p', claimToken: again.claimToken!, prior: again.prior ?? null }], actor, later + 1)).toEqual([true]);
				expect(await store.get(ns, 'p')).toEqual(processed);
			});

			it('never clobbers a record someone else changed since', async () => {
				const T0 = Date.now();
				const mine = await claimOne('s', T0);
				await store.transition(ns, [transitionRequest('markProcessed', 's', mine.claimToken)], actor, T0 + 1);
				const settled = await store.get(ns, 's');
				expect(await store.restore(ns, [{ key: 's', claimToken: mine.claimToken!, prior: null }], actor, T0 + 2)).toEqual([false]);
				expect(await store.get(ns, 's')).toEqual(settled);

				const stale = await claimOne('t', T0, { ...basePolicy, leaseMs: 1000 });
				const taken = await claimOne('t', T0 + 2000, { ...basePolicy, onLeaseExpired: 'reclaim' });
				expect(taken).toMatchObject({ outcome: 'new', reason: 'reclaimed' });
				const theirs = await store.get(ns, 't');
				expect(await store.restore(ns, [{ key: 't', claimToken: stale.claimToken!, prior: null }], actor, T0 + 2001)).toEqual([false]);
				expect(await store.get(ns, 't')).toEqual(theirs);
			});
		});

		describe('one clock: the store’s', () => {
			afterEach(() => {
				jest.restoreAllMocks();
			});

			const skew = (ms: number) => {
				const real = Date.now.bind(Date);
				jest.spyOn(Date, 'now').mockImplementation(() => real() + ms);
			};

			it('lists live claims as live, not stuck, when the n8n clock runs 60 s ahead', async () => {
				skew(60_000);
				const policy = { ...basePolicy, leaseMs: 30_000 };
				await store.claim(ns, [{ key: 'live-1', fingerprint: null }, { key: 'live-2', fingerprint: null }], policy, actor);
				expect((await store.list(ns, { stuckOnly: true, limit: 10 })).records).toEqual([]);
				expect((await store.list(ns, { state: 'processing', limit: 10 })).records.map((r) => r.key).sort()).toEqual(['live-1', 'live-2']);
				expect((await store.list(ns, { state: 'processing', olderThanMs: 30_000, limit: 10 })).records).toEqual([]);
			});

			it('counts the events just recorded when the n8n clock runs 60 s behind', async () => {
				skew(-60_000);
				await store.claim(ns, [{ key: 'c-1', fingerprint: null }], basePolicy, actor);
				const stats = await store.stats(ns, 30_000);
				expect(stats.new).toBe(1);
			});

			it('lists open exceptions by their age on the store’s clock', async () => {
				skew(60_000);
				await store.recordExceptions(ns, [exceptionRequest('e-1')], actor);
				expect(await store.listOpenExceptions({ namespace: ns, olderThanMs: 30_000, limit: 10 })).toEqual([]);
				expect((await store.listOpenExceptions({ namespace: ns, limit: 10 })).map((e) => e.key)).toEqual(['e-1']);
			});
		});
	});
}
