// The `_idempotency` the Guard puts on each item (docs/CONTRACT.md §5): from the store's decision, for an
// item the store could not decide (no key, store down, legacy key), and for a repeat of a key
// earlier in the same input.

import { iso } from '../../shared/n8n/actor';
import type { ClaimDecision, Outcome, Reason, RecordState } from '../../shared/store/types';

export interface IdempotencyMetadata {
	namespace: string | null;
	key: string | null;
	outcome: Outcome;
	reason: Reason;
	state: RecordState | null;
	attempt: number;
	claimToken: string | null;
	firstSeenAt: string | null;
	lastSeenAt: string | null;
	leaseUntil: string | null;
	result: unknown;
	/** Only for missing_key, store_unavailable and legacy_key: what exactly was wrong. */
	detail?: string;
	/** With detail, when there is a fix to give: how to fix it (the hint the error would have had). */
	hint?: string;
	/** Only on an item held `in_progress` in a manual run: who holds the key (helpers/testRuns.ts). */
	heldBy?: { workflowId: string | null; executionId: string | null; testRun: boolean };
}

export function metadataOf(namespace: string, decision: ClaimDecision): IdempotencyMetadata {
	return {
		namespace,
		key: decision.key,
		outcome: decision.outcome as Outcome,
		reason: decision.reason,
		state: decision.state,
		attempt: decision.attempt,
		claimToken: decision.outcome === 'new' ? decision.claimToken : null,
		firstSeenAt: iso(decision.firstSeenAt),
		lastSeenAt: iso(decision.lastSeenAt),
		leaseUntil: iso(decision.leaseUntil),
		result: decision.result ?? null,
	};
}

/** An item routed to Ambiguous without a decision of the store. */
export function undecided(namespace: string | null, key: string | null, reason: Reason, detail: string, hint?: string): IdempotencyMetadata {
	const metadata: IdempotencyMetadata = {
		namespace,
		key,
		outcome: 'ambiguous',
		reason,
		state: null,
		attempt: 0,
		claimToken: null,
		firstSeenAt: null,
		lastSeenAt: null,
		leaseUntil: null,
		result: null,
		detail,
	};
	if (hint) metadata.hint = hint;
	return metadata;
}

/**
 * A repeat of a key earlier in this input: what its first item got, as a duplicate (ambiguous
 * when its fingerprint differs, or when the store was down), never with the claim token.
 */
export function repeatOf(first: IdempotencyMetadata, mismatch: boolean): IdempotencyMetadata {
	const storeDown = first.reason === 'store_unavailable';
	return {
		...first,
		outcome: storeDown || mismatch ? 'ambiguous' : 'duplicate',
		reason: storeDown ? 'store_unavailable' : 'duplicate_in_batch',
		claimToken: null,
	};
}
