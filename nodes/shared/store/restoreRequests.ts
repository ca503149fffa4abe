// What undoes the claims a failed call took: each `new` with its token becomes a request to put
// back the record the claim found (its `prior`, the store's own image; none = delete the key).
// Used by claims.ts for a failed Guard input and by the Redis store for a chunk split over buckets.

import type { ClaimDecision, RestoreRequest } from './types';

export function restoreRequestsOf(decisions: readonly ClaimDecision[]): RestoreRequest[] {
	return decisions.flatMap((d) => (d.outcome === 'new' && d.claimToken ? [{ key: d.key, claimToken: d.claimToken, prior: d.prior ?? null }] : []));
}
