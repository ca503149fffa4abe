// What the bench asks of a store, and of its raw ceiling: the Guard's default policy, fresh
// random keys, and the two contenders — the store as the Guard and Ledger call it, and the
// cheapest statement or script that does the bare job on the same server.

import { createHash, randomBytes } from 'crypto';
import type { Actor, ClaimPolicy, IdempotencyStore } from '../../nodes/shared/store/types';

const DAY_MS = 86_400_000;

/** The Guard's defaults (nodes/IdempotencyGuard/helpers/settings.ts): 300 s lease, 30 days retention. */
export const GUARD_POLICY: ClaimPolicy = {
	leaseMs: 300_000,
	retentionMs: 30 * DAY_MS,
	onInProgress: 'ambiguous',
	onLeaseExpired: 'ambiguous',
	onFailed: 'retry',
	maxAttempts: 3,
	onPayloadMismatch: 'ambiguous',
};

export const GUARD_ACTOR: Actor = { workflowId: 'bench-workflow', executionId: '100001', node: 'Idempotency Guard' };
export const LEDGER_ACTOR: Actor = { workflowId: 'bench-workflow', executionId: '100001', node: 'Mark processed' };

/** 32 hex digits: the length of an md5 or a typical order/contact id, in random index order. */
export function freshKeys(count: number): string[] {
	const bytes = randomBytes(16 * count);
	const keys = new Array<string>(count);
	for (let i = 0; i < count; i++) keys[i] = bytes.toString('hex', 16 * i, 16 * i + 16);
	return keys;
}

/** The result a Ledger stores on markProcessed, e.g. the CRM's contact id. */
export function resultFor(key: string): string {
	return `{"id":"${key.slice(0, 8)}"}`;
}

/** Key number `i` of a preload: md5('<seed>:<i>') — what the Postgres preload computes in SQL. */
export function md5Key(seed: string, i: number): string {
	return createHash('md5').update(`${seed}:${i}`).digest('hex');
}

/** Key number `i` of a preload: sha1('<seed>:<i>'), first 32 digits — what redis-preload.lua computes. */
export function sha1Key(seed: string, i: number): string {
	return createHash('sha1').update(`${seed}:${i}`).digest('hex').slice(0, 32);
}

/**
 * One side of a comparison. Every call handles one chunk (≤ 1000 keys) in one round trip and
 * checks the answer, so that a contender that silently did less work cannot look fast.
 */
export interface Contender {
	/** Claims fresh keys; returns their claim tokens (the raw side may return none). */
	claim(keys: string[]): Promise<string[] | null>;
	/** Claims keys that are already processed: every answer must be "seen before". */
	reclaim(keys: string[]): Promise<void>;
	markProcessed(keys: string[], tokens: string[] | null): Promise<void>;
	claimOne(key: string): Promise<void>;
}

export function expectAll(what: string, count: number, total: number): void {
	if (count !== total) throw new Error(`Bench sanity check failed: ${what} for ${count} of ${total} keys`);
}

/** The store as the Guard (claims) and the State Ledger (markProcessed) call it. */
export class GuardContender implements Contender {
	constructor(
		private readonly store: IdempotencyStore,
		private readonly namespace: string,
	) {}

	async claim(keys: string[]): Promise<string[]> {
		const decisions = await this.store.claim(
			this.namespace,
			keys.map((key) => ({ key, fingerprint: null })),
			GUARD_POLICY,
			GUARD_ACTOR,
		);
		expectAll('"new"', decisions.filter((d) => d.outcome === 'new').length, keys.length);
		return decisions.map((d) => d.claimToken as string);
	}

	async reclaim(keys: string[]): Promise<void> {
		const decisions = await this.store.claim(
			this.namespace,
			keys.map((key) => ({ key, fingerprint: null })),
			GUARD_POLICY,
			GUARD_ACTOR,
		);
		expectAll('"duplicate"', decisions.filter((d) => d.outcome === 'duplicate').length, keys.length);
	}

	async markProcessed(keys: string[], tokens: string[] | null): Promise<void> {
		const results = await this.store.transition(
			this.namespace,
			keys.map((key, i) => ({
				kind: 'markProcessed' as const,
				key,
				claimToken: tokens ? tokens[i] : null,
				verifyClaim: true,
				force: false,
				resultJson: resultFor(key),
				retentionMs: GUARD_POLICY.retentionMs,
			})),
			LEDGER_ACTOR,
		);
		expectAll('an applied markProcessed', results.filter((r) => r.applied && !r.noop).length, keys.length);
	}

	async claimOne(key: string): Promise<void> {
		const [decision] = await this.store.claim(this.namespace, [{ key, fingerprint: null }], GUARD_POLICY, GUARD_ACTOR);
		expectAll('"new"', decision.outcome === 'new' ? 1 : 0, 1);
	}
}
