import { decide, historyEventFor } from '../../nodes/shared/engine/model/decideClaim';
import { planTransition } from '../../nodes/shared/engine/model/planTransition';
import { planBatch, chunk } from '../../nodes/shared/engine/batch';
import type { ClaimPolicy, KeyRecord } from '../../nodes/shared/store/types';

const policy: ClaimPolicy = {
	leaseMs: 1000,
	retentionMs: 0,
	onInProgress: 'ambiguous',
	onLeaseExpired: 'ambiguous',
	onFailed: 'retry',
	maxAttempts: 3,
	onPayloadMismatch: 'ambiguous',
};
const now = 1_000_000;
const rec = (over: Partial<KeyRecord>) => ({ state: 'processing' as const, attempt: 1, fingerprint: null, leaseUntil: now + 1, expiresAt: null, ...over });

describe('decision table (reference engine)', () => {
	it.each([
		['no record', null, {}, null, 'new', 'first_seen', 'create'],
		['an expired record', rec({ state: 'processed', expiresAt: now }), {}, null, 'new', 'first_seen', 'create'],
		['a received record', rec({ state: 'received', attempt: 0, leaseUntil: null }), {}, null, 'new', 'first_seen', 'claim'],
		['a live claim', rec({}), {}, null, 'ambiguous', 'in_progress', 'seen'],
		['a live claim, duplicate mode', rec({}), { onInProgress: 'duplicate' }, null, 'duplicate', 'in_progress', 'seen'],
		['a live claim, wait mode', rec({}), { onInProgress: 'pending' }, null, 'pending', 'in_progress', 'none'],
		['a stale claim', rec({ leaseUntil: now }), {}, null, 'ambiguous', 'lease_expired', 'seen'],
		['a stale claim, reclaim mode', rec({ leaseUntil: now }), { onLeaseExpired: 'reclaim' }, null, 'new', 'reclaimed', 'claim'],
		['a processed record', rec({ state: 'processed', leaseUntil: null }), {}, null, 'duplicate', 'already_processed', 'seen'],
		['a changed payload', rec({ state: 'processed', fingerprint: 'a' }), {}, 'b', 'ambiguous', 'payload_mismatch', 'seen'],
		['a changed payload, duplicate mode', rec({ fingerprint: 'a' }), { onPayloadMismatch: 'duplicate' }, 'b', 'duplicate', 'payload_mismatch', 'seen'],
		['the same payload', rec({ state: 'processed', fingerprint: 'a' }), {}, 'a', 'duplicate', 'already_processed', 'seen'],
		['a failed record', rec({ state: 'failed' }), {}, null, 'new', 'retry_after_failure', 'claim'],
		['a failed record, ambiguous mode', rec({ state: 'failed' }), { onFailed: 'ambiguous' }, null, 'ambiguous', 'previously_failed', 'seen'],
		['a record failed maxAttempts times', rec({ state: 'failed', attempt: 3 }), {}, null, 'ambiguous', 'max_attempts', 'seen'],
	] as const)('decides %s', (_label, record, over, fingerprint, outcome, reason, effect) => {
		const d = decide({ record, fingerprint, now, policy: { ...policy, ...over } as ClaimPolicy });
		expect([d.outcome, d.reason, d.effect]).toEqual([outcome, reason, effect]);
	});

	it('maps decisions to history events', () => {
		expect(historyEventFor({ outcome: 'new', reason: 'first_seen' })).toBe('claimed');
		expect(historyEventFor({ outcome: 'new', reason: 'reclaimed' })).toBe('reclaimed');
		expect(historyEventFor({ outcome: 'duplicate', reason: 'already_processed' })).toBe('duplicate_seen');
		expect(historyEventFor({ outcome: 'ambiguous', reason: 'lease_expired' })).toBe('ambiguous_seen');
		expect(historyEventFor({ outcome: 'pending', reason: 'in_progress' })).toBeNull();
	});
});

describe('transition rules (reference engine)', () => {
	const at = (state: KeyRecord['state'], claimToken: string | null = 't1') => ({ state, claimToken, expiresAt: null });
	const req = (kind: 'markProcessed' | 'markFailed' | 'markReceived' | 'release', claimToken: string | null, over = {}) => ({ kind, claimToken, verifyClaim: true, force: false, ...over });

	it.each([
		['markProcessed by the owner', at('processing'), req('markProcessed', 't1'), 'set', null],
		['markProcessed by a stale token', at('processing'), req('markProcessed', 't0'), 'reject', 'claim_lost'],
		['markProcessed without a token', at('processing'), req('markProcessed', null), 'reject', 'claim_lost'],
		['markProcessed without a token, verifyClaim off', at('processing'), req('markProcessed', null, { verifyClaim: false }), 'set', null],
		['markProcessed repeated by the owner', at('processed'), req('markProcessed', 't1'), 'noop', null],
		['markProcessed repeated by another token', at('processed'), req('markProcessed', 't0'), 'reject', 'claim_lost'],
		['markFailed after processed by the owner', at('processed'), req('markFailed', 't1'), 'reject', 'invalid_transition'],
		['markProcessed of an unknown key', null, req('markProcessed', 't1'), 'reject', 'not_found'],
		['markReceived of an unknown key', null, req('markReceived', null), 'create', null],
		['markReceived repeated', at('received', null), req('markReceived', null), 'noop', null],
		['markReceived of a claimed key', at('processing'), req('markReceived', null), 'reject', 'invalid_transition'],
		['release by the owner', at('processing'), req('release', 't1'), 'delete', null],
		['release of a live claim by another', at('processing'), req('release', 't0'), 'reject', 'claim_lost'],
		['release of a processed key by an operator', at('processed'), req('release', null), 'delete', null],
		['release of a processed key by a stale token', at('processed'), req('release', 't0'), 'reject', 'claim_lost'],
		['release of a processed key by its own token', at('processed'), req('release', 't1'), 'delete', null],
		['release of an unknown key', null, req('release', null), 'reject', 'not_found'],
		['a forced move', at('processing'), req('markProcessed', 't0', { force: true }), 'set', null],
		['a forced move of an unknown key', null, req('markFailed', null, { force: true }), 'create', null],
	] as const)('plans %s', (_label, record, request, action, rejectReason) => {
		const plan = planTransition(record, request, 0);
		expect([plan.action, plan.rejectReason]).toEqual([action, rejectReason]);
	});

	it('records forced moves as forced and ordinary ones by name', () => {
		expect(planTransition(at('processing'), req('markProcessed', 'x', { force: true }), 0).event).toBe('forced');
		expect(planTransition(at('processing'), req('markFailed', 't1'), 0).event).toBe('failed');
		expect(planTransition(at('processed'), req('release', null), 0).event).toBe('released');
	});
});

describe('batch planning', () => {
	it('sends each key once and counts its in-batch repeats', () => {
		const plan = planBatch([
			{ index: 0, namespace: 'n', key: 'a', fingerprint: 'x' },
			{ index: 1, namespace: 'n', key: 'b', fingerprint: null },
			{ index: 2, namespace: 'n', key: 'a', fingerprint: 'x' },
			{ index: 3, namespace: 'n', key: 'a', fingerprint: 'y' },
			{ index: 4, namespace: 'm', key: 'a', fingerprint: 'x' },
		]);
		expect(plan.claims.map((c) => [c.namespace, c.request.key, c.firstIndex])).toEqual([
			['n', 'a', 0],
			['n', 'b', 1],
			['m', 'a', 4],
		]);
		expect(plan.claims[0].request.repeats).toEqual({ duplicates: 1, mismatches: 1 });
		expect(plan.repeats.get(2)).toEqual({ firstIndex: 0, mismatch: false });
		expect(plan.repeats.get(3)).toEqual({ firstIndex: 0, mismatch: true });
	});

	it('carries the key as earlier versions wrote it on the claim, the one record the Guard passes to the store call', () => {
		const plan = planBatch([
			{ index: 0, namespace: 'n', key: 'sha256:new', fingerprint: null, legacyKey: 'sha256:old' },
			{ index: 1, namespace: 'n', key: 'b', fingerprint: null },
			{ index: 2, namespace: 'n', key: 'sha256:new', fingerprint: null, legacyKey: 'sha256:old' },
		]);
		expect(plan.claims).toEqual([
			{ namespace: 'n', request: { key: 'sha256:new', fingerprint: null, repeats: { duplicates: 1, mismatches: 0 } }, firstIndex: 0, legacyKey: 'sha256:old' },
			{ namespace: 'n', request: { key: 'b', fingerprint: null }, firstIndex: 1 },
		]);
	});

	it('does not confuse namespace and key boundaries', () => {
		const plan = planBatch([
			{ index: 0, namespace: 'ab', key: 'c', fingerprint: null },
			{ index: 1, namespace: 'a', key: 'bc', fingerprint: null },
		]);
		expect(plan.claims).toHaveLength(2);
	});

	it('chunks lists', () => {
		expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
		expect(chunk([], 2)).toEqual([]);
	});
});
