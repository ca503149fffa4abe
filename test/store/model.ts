// A small in-memory reference model of docs/CONTRACT.md §5–6 for property tests: the engine's decide() and
// planTransition() plus the effects every store documents. Tokens come from the store under
// test (they are random), so the model records whatever token the store handed out.

import { decide } from '../../nodes/shared/engine/model/decideClaim';
import { planTransition } from '../../nodes/shared/engine/model/planTransition';
import type { ClaimDecision, ClaimPolicy, RecordState, TransitionKind, TransitionResult } from '../../nodes/shared/store/types';

export interface ModelRecord {
	state: RecordState;
	attempt: number;
	claimToken: string | null;
	fingerprint: string | null;
	firstSeenAt: number;
	lastSeenAt: number;
	leaseUntil: number | null;
	expiresAt: number | null;
	retentionMs: number;
	duplicateCount: number;
}

export interface Expected {
	outcome?: string;
	reason?: string;
	state?: RecordState | null;
	attempt?: number;
	applied?: boolean;
	noop?: boolean;
	rejectReason?: string | null;
}

export class ReferenceModel {
	readonly records = new Map<string, ModelRecord>();
	/** History entries per key: a run of consecutive duplicates is one entry (docs/CONTRACT.md §12). */
	readonly historyLength = new Map<string, number>();
	/** Events per key with each run spelled out: what the entries' counts must add up to. */
	readonly historyEvents = new Map<string, number>();
	private readonly inDuplicateRun = new Set<string>();

	private addHistory(key: string, duplicate = false): void {
		this.historyEvents.set(key, (this.historyEvents.get(key) ?? 0) + 1);
		if (!(duplicate && this.inDuplicateRun.has(key))) this.historyLength.set(key, (this.historyLength.get(key) ?? 0) + 1);
		if (duplicate) this.inDuplicateRun.add(key);
		else this.inDuplicateRun.delete(key);
	}

	/** Decides like the stores, then adopts the token the store returned. */
	claim(key: string, fingerprint: string | null, policy: ClaimPolicy, now: number, actual: ClaimDecision): Expected {
		const record = this.records.get(key) ?? null;
		const d = decide({ record, fingerprint, now, policy });
		if (d.effect === 'create') {
			this.records.set(key, {
				state: 'processing',
				attempt: 1,
				claimToken: actual.claimToken,
				fingerprint,
				firstSeenAt: now,
				lastSeenAt: now,
				leaseUntil: now + policy.leaseMs,
				expiresAt: null,
				retentionMs: policy.retentionMs,
				duplicateCount: 0,
			});
		} else if (d.effect === 'claim' && record) {
			Object.assign(record, {
				state: 'processing',
				attempt: record.attempt + 1,
				claimToken: actual.claimToken,
				fingerprint: record.fingerprint ?? fingerprint,
				lastSeenAt: now,
				leaseUntil: now + policy.leaseMs,
				expiresAt: null,
				retentionMs: policy.retentionMs,
			});
		} else if (d.effect === 'seen' && record) {
			record.lastSeenAt = now;
			if (d.outcome === 'duplicate') record.duplicateCount++;
		}
		if (d.outcome !== 'pending') this.addHistory(key, d.outcome === 'duplicate');
		const after = this.records.get(key)!;
		return { outcome: d.outcome, reason: d.reason, state: after.state, attempt: after.attempt };
	}

	transition(
		key: string,
		kind: TransitionKind,
		claimToken: string | null,
		verifyClaim: boolean,
		force: boolean,
		now: number,
		retentionMs: number,
	): Expected {
		const current = this.records.get(key) ?? null;
		const live = current && !(current.expiresAt !== null && current.expiresAt <= now) ? current : null;
		const plan = planTransition(current, { kind, claimToken, verifyClaim, force }, now);
		if (plan.action === 'reject') return { applied: false, noop: false, rejectReason: plan.rejectReason, state: live?.state ?? null };
		if (plan.action === 'noop') return { applied: true, noop: true, rejectReason: null, state: live?.state ?? null };
		this.addHistory(key);
		if (plan.action === 'delete') {
			this.records.delete(key);
			return { applied: true, noop: false, rejectReason: null, state: null };
		}
		const settles = plan.state === 'processed' || plan.state === 'failed';
		if (plan.action === 'create') {
			this.records.set(key, {
				state: plan.state!,
				attempt: 0,
				claimToken: null,
				fingerprint: null,
				firstSeenAt: now,
				lastSeenAt: now,
				leaseUntil: null,
				expiresAt: settles && retentionMs > 0 ? now + retentionMs : null,
				retentionMs,
				duplicateCount: 0,
			});
		} else if (live) {
			live.state = plan.state!;
			live.leaseUntil = null;
			live.expiresAt = settles && live.retentionMs > 0 ? now + live.retentionMs : null;
		}
		return { applied: true, noop: false, rejectReason: null, state: plan.state };
	}

	/** What a store's get() must show for the key (null when unknown or released). */
	visible(key: string): ModelRecord | null {
		return this.records.get(key) ?? null;
	}
}

export function pickTransition(result: TransitionResult): Expected {
	return {
		applied: result.applied,
		noop: result.noop,
		rejectReason: result.rejectReason,
		state: result.record?.state ?? null,
	};
}
