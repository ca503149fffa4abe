// Reference model, imported by tests only: the Guard's decision table (docs/CONTRACT.md §5) as one
// pure function. The decision is taken inside each store's atomic claim script (Postgres
// decide_claim(), Redis claim.lua), which mirror this rule for rule; the conformance and property
// tests hold every store to it. No I/O, no clock: `now` is given.

import type { ClaimPolicy, KeyRecord, Outcome, Reason, RecordState } from '../../store/types';

export interface DecisionInput {
	record: Pick<
		KeyRecord,
		'state' | 'attempt' | 'fingerprint' | 'leaseUntil' | 'expiresAt'
	> | null;
	fingerprint: string | null;
	now: number;
	policy: ClaimPolicy;
}

export interface Decision {
	outcome: Outcome | 'pending';
	reason: Reason;
	/**
	 * What the decision does to the record: `create` starts a fresh life (attempt 1), `claim`
	 * takes the existing record into processing with attempt+1, `seen` only notes the delivery
	 * (lastSeenAt, and duplicateCount for duplicates), `none` leaves it untouched (wait polling).
	 */
	effect: 'create' | 'claim' | 'seen' | 'none';
	/** The record state after the decision. */
	state: RecordState;
}

/** True when a settled record has outlived its retention and counts as never seen. */
export function isExpired(record: { expiresAt: number | null }, now: number): boolean {
	return record.expiresAt !== null && record.expiresAt <= now;
}

export function decide({ record, fingerprint, now, policy }: DecisionInput): Decision {
	if (record === null || isExpired(record, now)) {
		return { outcome: 'new', reason: 'first_seen', effect: 'create', state: 'processing' };
	}
	const seen = (outcome: Outcome, reason: Reason): Decision => ({
		outcome,
		reason,
		effect: 'seen',
		state: record.state,
	});

	if (fingerprint !== null && record.fingerprint !== null && fingerprint !== record.fingerprint) {
		return seen(policy.onPayloadMismatch, 'payload_mismatch');
	}
	switch (record.state) {
		case 'received':
			return { outcome: 'new', reason: 'first_seen', effect: 'claim', state: 'processing' };
		case 'processing':
			if (record.leaseUntil !== null && record.leaseUntil > now) {
				if (policy.onInProgress === 'pending') {
					return { outcome: 'pending', reason: 'in_progress', effect: 'none', state: 'processing' };
				}
				return seen(policy.onInProgress, 'in_progress');
			}
			if (policy.onLeaseExpired === 'reclaim') {
				return { outcome: 'new', reason: 'reclaimed', effect: 'claim', state: 'processing' };
			}
			return seen('ambiguous', 'lease_expired');
		case 'processed':
			return seen('duplicate', 'already_processed');
		case 'failed':
			if (record.attempt >= policy.maxAttempts) return seen('ambiguous', 'max_attempts');
			if (policy.onFailed === 'retry') {
				return { outcome: 'new', reason: 'retry_after_failure', effect: 'claim', state: 'processing' };
			}
			return seen('ambiguous', 'previously_failed');
	}
}

/** The history event a claim decision appends (none for a wait poll). */
export function historyEventFor(decision: Pick<Decision, 'outcome' | 'reason'>): string | null {
	switch (decision.outcome) {
		case 'new':
			return decision.reason === 'reclaimed' ? 'reclaimed' : 'claimed';
		case 'duplicate':
			return 'duplicate_seen';
		case 'ambiguous':
			return 'ambiguous_seen';
		default:
			return null;
	}
}
