// What undoes the claims a failed call took: each `new` with its token becomes a request to put
// back the record the claim found (its `prior`, the store's own image; none = delete the key), and
// so does a claim the call made that is not New to the workflow (`unconfirmed`: a Redis claim its
// replicas did not confirm, Ambiguous not_replicated, that stays on the primary).
// Used by claims.ts for a failed Guard input and by the Redis store for a chunk split over buckets.

import type { ClaimDecision, RestoreRequest } from './types';

export function restoreRequestsOf(decisions: readonly ClaimDecision[]): RestoreRequest[] {
	return decisions.flatMap((d) => {
		if (d.outcome === 'new' && d.claimToken) return [{ key: d.key, claimToken: d.claimToken, prior: d.prior ?? null }];
		return d.unconfirmed ? [d.unconfirmed] : [];
	});
}
