// What undoes the claims a failed call took: each `new` with its token becomes a request to put
// back the record the claim found (its `prior`, the store's own image; none = delete the key), and
// so does a claim the call made that is not New to the workflow (`unconfirmed`: a Redis claim its
// replicas did not confirm, Ambiguous not_replicated, that stays on the primary).
// Used by claims.ts for a failed Guard input and by the Redis store for a chunk split over buckets.

import type { ClaimDecision, RestoreRequest } from './types';

/** The undo of a `new` decision's claim; null for any other decision. */
export function restoreRequestOf(d: ClaimDecision): RestoreRequest | null {
	return d.outcome === 'new' && d.claimToken ? { key: d.key, claimToken: d.claimToken, prior: d.prior ?? null } : null;
}

export function restoreRequestsOf(decisions: readonly ClaimDecision[]): RestoreRequest[] {
	return decisions.flatMap((d) => {
		const undo = restoreRequestOf(d) ?? d.unconfirmed;
		return undo ? [undo] : [];
	});
}
