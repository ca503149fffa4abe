// Claims on every store: the decision table row by row, what a claim writes field by field, what a
// seen decision or a wait poll leaves alone, retention, in-batch repeats and chunks of 1000.

import type { KeyRecord } from '../../../nodes/shared/store/types';
import { actor, basePolicy, DAY, expectDuplicateRun, MINUTE, transitionRequest, useStore, type FixtureFactory } from './fixture';

export function describeClaimConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: claim`, () => {
		const s = useStore(open, 'claim');
		const T0 = Date.now();
		const { claimOne, settle } = s;

		describe('decision table', () => {
			it('claims an unseen key as new: processing, attempt 1, a fresh token and a lease', async () => {
				const d = await claimOne('lead-1', T0);
				expect(d).toMatchObject({ key: 'lead-1', outcome: 'new', reason: 'first_seen', state: 'processing', attempt: 1 });
				expect(d.claimToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
				expect(d.firstSeenAt).toBe(T0);
				expect(d.lastSeenAt).toBe(T0);
				expect(d.leaseUntil).toBe(T0 + basePolicy.leaseMs);
				expect(d.result).toBeNull();
			});

			it('claims a received key as new with reason first_seen', async () => {
				const r = await s.transitionOne(transitionRequest('markReceived', 'k', null), T0);
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
				expect(await s.store.get(s.ns, 'k')).toMatchObject({ state: 'processing', attempt: 1, claimToken: first.claimToken });
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
				expect((await s.store.history(s.ns, 'k')).map((h) => h.event)).toEqual(['claimed', 'ambiguous_seen', 'reclaimed']);
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
				expect(await s.store.get(s.ns, 'k')).toMatchObject({ duplicateCount: 2, lastSeenAt: T0 + 30 });
				expectDuplicateRun((await s.store.history(s.ns, 'k')).slice(2), 2, 'already_processed');
			});

			it('flags a payload mismatch in any state, per onPayloadMismatch', async () => {
				const first = await claimOne('k', T0, {}, 'fp-a');
				expect(await claimOne('k', T0 + 1, {}, 'fp-b')).toMatchObject({ outcome: 'ambiguous', reason: 'payload_mismatch', state: 'processing' });
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
				expect((await s.store.get(s.ns, 'k'))?.lastError).toBe('CRM said 500');
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

			it('appends one history event per decision with the actor', async () => {
				const first = await claimOne('k', T0);
				await claimOne('k', T0 + 1);
				await settle('markProcessed', 'k', first.claimToken, T0 + 2);
				await claimOne('k', T0 + 3);
				const history = await s.store.history(s.ns, 'k');
				expect(history.map((h) => [h.event, h.reason, h.at])).toEqual([
					['claimed', 'first_seen', T0],
					['ambiguous_seen', 'in_progress', T0 + 1],
					['processed', null, T0 + 2],
					['duplicate_seen', 'already_processed', T0 + 3],
				]);
				for (const entry of history) expect(entry).toMatchObject({ workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' });
			});
		});

		describe('effects, field by field', () => {
			it('creates a record with every field the claim owns', async () => {
				const d = await claimOne('k', T0, { retentionMs: DAY }, 'fp-1');
				expect(await s.store.get(s.ns, 'k')).toEqual<KeyRecord>({
					namespace: s.ns,
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
			});

			it('keeps firstSeenAt and lastError and takes the new fingerprint and actor on a retry', async () => {
				const first = await claimOne('k', T0, {}, null);
				await settle('markFailed', 'k', first.claimToken, T0 + 1, { errorMessage: 'boom' });
				const other = { workflowId: 'wf-2', executionId: 'ex-2', node: 'Guard 2' };
				const [retry] = await s.store.claim(s.ns, [{ key: 'k', fingerprint: 'fp-late' }], basePolicy, other, T0 + 10);
				expect(retry).toMatchObject({ outcome: 'new', reason: 'retry_after_failure', attempt: 2, firstSeenAt: T0, lastSeenAt: T0 + 10 });
				expect(await s.store.get(s.ns, 'k')).toMatchObject({
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

			it('changes only lastSeenAt on an ambiguous decision', async () => {
				await claimOne('k', T0);
				const before = await s.store.get(s.ns, 'k');
				await claimOne('k', T0 + 5);
				expect(await s.store.get(s.ns, 'k')).toEqual({ ...before, lastSeenAt: T0 + 5 });
			});

			it('changes only lastSeenAt and duplicateCount on a duplicate decision', async () => {
				const first = await claimOne('k', T0);
				await settle('markProcessed', 'k', first.claimToken, T0 + 1);
				const before = await s.store.get(s.ns, 'k');
				await claimOne('k', T0 + 5);
				expect(await s.store.get(s.ns, 'k')).toEqual({ ...before, lastSeenAt: T0 + 5, duplicateCount: 1 });
			});

			it('changes nothing and writes no history on a wait poll', async () => {
				await claimOne('k', T0);
				const before = await s.store.get(s.ns, 'k');
				const poll = await claimOne('k', T0 + 5, { onInProgress: 'pending' });
				expect(poll).toMatchObject({ outcome: 'pending', reason: 'in_progress', claimToken: null, lastSeenAt: T0 });
				expect(await s.store.get(s.ns, 'k')).toEqual(before);
				expect(await s.store.history(s.ns, 'k')).toHaveLength(1);
			});

			it('records in-batch repeats as history only, after the decision, in the same round trip', async () => {
				const [d] = await s.store.claim(s.ns, [{ key: 'k', fingerprint: 'a', repeats: { duplicates: 2, mismatches: 1 } }], basePolicy, actor, T0);
				expect(d.outcome).toBe('new');
				const history = await s.store.history(s.ns, 'k');
				expect(history[0]).toMatchObject({ event: 'claimed', reason: 'first_seen' });
				const duplicates = history.filter((h) => h.event === 'duplicate_seen');
				expectDuplicateRun(duplicates, 2, 'duplicate_in_batch');
				expect(history.filter((h) => h.event === 'ambiguous_seen').map((h) => h.reason)).toEqual(['duplicate_in_batch']);
				expect(history).toHaveLength(1 + duplicates.length + 1);
				expect((await s.store.get(s.ns, 'k'))?.duplicateCount).toBe(0);
			});
		});

		describe('retention', () => {
			it('forgets a processed key after retention: new first_seen, attempt 1, a fresh record', async () => {
				const first = await claimOne('k', T0, { retentionMs: DAY });
				await settle('markProcessed', 'k', first.claimToken, T0 + 10);
				expect((await s.store.get(s.ns, 'k'))?.expiresAt).toBe(T0 + 10 + DAY);
				expect(await claimOne('k', T0 + 10 + DAY - 1)).toMatchObject({ outcome: 'duplicate', result: { contactId: 'c-1' } });
				const again = await claimOne('k', T0 + 10 + DAY);
				expect(again).toMatchObject({ outcome: 'new', reason: 'first_seen', attempt: 1, result: null });
				expect(again.firstSeenAt).toBe(T0 + 10 + DAY);
				expect(await s.store.get(s.ns, 'k')).toMatchObject({ duplicateCount: 0, result: null, expiresAt: null, firstSeenAt: T0 + 10 + DAY });
				expect((await s.store.history(s.ns, 'k')).map((h) => h.event)).toEqual(['claimed', 'processed', 'duplicate_seen', 'claimed']);
			});

			it('clears the expiry when a failed record is claimed again', async () => {
				const d = await claimOne('k', T0, { retentionMs: DAY });
				await settle('markFailed', 'k', d.claimToken, T0 + 1);
				expect((await s.store.get(s.ns, 'k'))?.expiresAt).toBe(T0 + 1 + DAY);
				expect(await claimOne('k', T0 + 2)).toMatchObject({ outcome: 'new', reason: 'retry_after_failure' });
				expect((await s.store.get(s.ns, 'k'))?.expiresAt).toBeNull();
			});

			it('keeps a key forever with retention 0, and lease and retention stay independent', async () => {
				const first = await claimOne('k', T0, { retentionMs: 0, leaseMs: 1000 });
				await settle('markProcessed', 'k', first.claimToken, T0 + 5000);
				expect((await s.store.get(s.ns, 'k'))?.expiresAt).toBeNull();
				expect(await claimOne('k', T0 + 3650 * DAY)).toMatchObject({ outcome: 'duplicate', reason: 'already_processed' });
			});
		});

		describe('batches', () => {
			it('decides a chunk of 1000 distinct keys in one call, in request order', async () => {
				const keys = Array.from({ length: 1000 }, (_, i) => `batch-${(i * 7919) % 1000}`);
				await claimOne('batch-500', T0);
				const decisions = await s.store.claim(s.ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0 + 1);
				expect(decisions.map((d) => d.key)).toEqual(keys);
				expect(decisions.filter((d) => d.outcome === 'new')).toHaveLength(999);
				expect(decisions.find((d) => d.key === 'batch-500')).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
			});

			it('uses the store clock when no time is given', async () => {
				const before = await s.store.clock();
				const d = await claimOne('k');
				const after = await s.store.clock();
				expect(d.firstSeenAt).toBeGreaterThanOrEqual(before);
				expect(d.firstSeenAt).toBeLessThanOrEqual(after);
				expect(d.leaseUntil).toBe(d.firstSeenAt + MINUTE);
			});
		});
	});
}
