// Reference model, imported by tests only: the State Ledger's transition rules (docs/CONTRACT.md §6)
// as one pure function. Each store's atomic transition script (Postgres apply_transition(), Redis
// includes/planTransition.lua) implements them; the conformance tests hold every store to this. No
// I/O, no clock.

import type { KeyRecord, RecordState, RejectReason, TransitionKind } from '../../store/types';
import { isExpired } from './decideClaim';

export interface TransitionPlan {
	/**
	 * `set`: move to `state`; `create`: make a new record in `state`; `delete`: remove the record
	 * (release); `noop`: already done with this token, applied without change; `reject`: refuse.
	 */
	action: 'set' | 'create' | 'delete' | 'noop' | 'reject';
	state: RecordState | null;
	rejectReason: RejectReason | null;
	/** History event appended (none for noop and reject). */
	event: 'processed' | 'failed' | 'received' | 'released' | 'forced' | null;
}

const target: Record<TransitionKind, RecordState | null> = {
	markProcessed: 'processed',
	markFailed: 'failed',
	markReceived: 'received',
	release: null,
};

const ownEvent = {
	markProcessed: 'processed',
	markFailed: 'failed',
	markReceived: 'received',
	release: 'released',
} as const;

const reject = (rejectReason: RejectReason): TransitionPlan => ({
	action: 'reject',
	state: null,
	rejectReason,
	event: null,
});

export function planTransition(
	current: Pick<KeyRecord, 'state' | 'claimToken' | 'expiresAt'> | null,
	request: { kind: TransitionKind; claimToken: string | null; verifyClaim: boolean; force: boolean },
	now: number,
): TransitionPlan {
	const record = current && !isExpired(current, now) ? current : null;
	const { kind } = request;
	const to = target[kind];

	if (request.force) {
		if (kind === 'release') {
			return record ? { action: 'delete', state: null, rejectReason: null, event: 'forced' } : reject('not_found');
		}
		return { action: record ? 'set' : 'create', state: to, rejectReason: null, event: 'forced' };
	}

	if (record === null) {
		return kind === 'markReceived'
			? { action: 'create', state: 'received', rejectReason: null, event: 'received' }
			: reject('not_found');
	}

	const ownsClaim = request.claimToken !== null && request.claimToken === record.claimToken;
	const tokenRefused = request.verifyClaim && !ownsClaim;

	if (kind === 'release') {
		// A live claim needs its token. Any other state may be released by an operator without a
		// token — but a token that is not the record's is a stale worker, never allowed to undo
		// the write of the execution that took its key over.
		const staleToken = request.verifyClaim && request.claimToken !== null && !ownsClaim;
		if ((record.state === 'processing' && tokenRefused) || staleToken) return reject('claim_lost');
		return { action: 'delete', state: null, rejectReason: null, event: 'released' };
	}
	if (kind === 'markReceived') {
		return record.state === 'received'
			? { action: 'noop', state: 'received', rejectReason: null, event: null }
			: reject('invalid_transition');
	}
	// markProcessed / markFailed settle a claim.
	if (record.state === to) {
		if (ownsClaim || !request.verifyClaim) return { action: 'noop', state: to, rejectReason: null, event: null };
		return reject('claim_lost');
	}
	if (record.state === 'processing') {
		if (tokenRefused) return reject('claim_lost');
		return { action: 'set', state: to, rejectReason: null, event: ownEvent[kind] };
	}
	// processed -> failed, failed -> processed, received -> settled: not without a claim or force.
	if (tokenRefused && record.state !== 'received') return reject('claim_lost');
	return reject('invalid_transition');
}
