// The claim policy and actor most store tests use, so a test file names only what it changes
// (`claimPolicy({ retentionMs: 1_000 })`). The defaults are the Guard's: a minute's lease, a day's
// retention, Ambiguous on in-progress, expired and mismatched claims, three attempts.
import type { Actor, ClaimPolicy } from '../../nodes/shared/store/types';

export const TEST_ACTOR: Actor = { workflowId: 'w', executionId: 'e', node: 'Guard' };

export function claimPolicy(overrides: Partial<ClaimPolicy> = {}): ClaimPolicy {
	return {
		leaseMs: 60_000,
		retentionMs: 86_400_000,
		onInProgress: 'ambiguous',
		onLeaseExpired: 'ambiguous',
		onFailed: 'retry',
		maxAttempts: 3,
		onPayloadMismatch: 'ambiguous',
		...overrides,
	};
}
