// Runs the claims of one Guard input against a store: one round trip per chunk of ≤ 1000 keys
// per namespace, polling for the `wait` mode, and — when a later chunk fails — undoing every claim
// the input took, so each key is back to exactly the record it had before (store.restore).

import { restoreRequestsOf } from './store/restoreRequests';
import type { Actor, ClaimDecision, ClaimPolicy, ClaimRequest, IdempotencyStore } from './store/types';
import { MAX_CHUNK } from './store/types';
import { chunk, groupBy } from './util/lists';

/**
 * What a claim needs here: its namespace, its request, and — for a key with the hashed form — the
 * key as earlier versions stored it. The Guard passes its own records (engine/batch.ts `Claim`)
 * and gets the answers keyed by the same objects.
 */
export interface ClaimJob {
	namespace: string;
	request: ClaimRequest;
	legacyKey?: string;
}

/** The decisions of one successful store call: what a failure later in the input undoes. */
interface Committed {
	namespace: string;
	decisions: ClaimDecision[];
}

export interface WaitOptions {
	/**
	 * 0 = no waiting: in-progress keys are decided by `policy.onInProgress` at once. Otherwise
	 * they are polled until settled or until this time has passed, then decided by
	 * `policy.onInProgress` (the Guard passes `ambiguous`).
	 */
	waitMs: number;
	pollMs?: number;
	sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function claimOnce<J extends ClaimJob>(
	store: IdempotencyStore,
	jobs: readonly J[],
	policy: ClaimPolicy,
	actor: Actor,
	now: number | undefined,
	done: Committed[],
): Promise<Map<J, ClaimDecision>> {
	const decided = new Map<J, ClaimDecision>();
	for (const [namespace, list] of groupBy(jobs, (job) => job.namespace)) {
		for (const part of chunk(list, MAX_CHUNK)) {
			const decisions = await store.claim(
				namespace,
				part.map((job) => job.request),
				policy,
				actor,
				now,
			);
			done.push({ namespace, decisions });
			part.forEach((job, i) => decided.set(job, decisions[i]));
		}
	}
	return decided;
}

/**
 * Keys whose text has the hashed form (`sha256:<hex>`) are hashed again now; earlier
 * versions stored them as written. While no record exists under the new form but one exists
 * under the old, that record is either this event, delivered before the upgrade (claiming would
 * write a second time), or another event whose hashed key is this text (taking it as a duplicate
 * would lose this event and hand it the other's result). Neither is safe, so such a key is not
 * claimed: the Guard routes it to a person (reason legacy_key). Two reads per such key, and only
 * for them. Any record under the old form counts, even one past retention not yet purged.
 * Returns the jobs that must not be claimed.
 */
export async function legacyConflicts<J extends ClaimJob>(store: IdempotencyStore, jobs: readonly J[]): Promise<Set<J>> {
	const conflicts = new Set<J>();
	await Promise.all(
		jobs.map(async (job) => {
			const { legacyKey } = job;
			if (legacyKey === undefined) return;
			const [current, legacy] = await Promise.all([
				store.get(job.namespace, job.request.key),
				store.get(job.namespace, legacyKey),
			]);
			if (current === null && legacy !== null) conflicts.add(job);
		}),
	);
	return conflicts;
}

export async function claimAll<J extends ClaimJob>(
	store: IdempotencyStore,
	jobs: readonly J[],
	policy: ClaimPolicy,
	actor: Actor,
	wait: WaitOptions,
	now?: number,
): Promise<Map<J, ClaimDecision>> {
	const sleep = wait.sleep ?? defaultSleep;
	const waiting = wait.waitMs > 0;
	const pollPolicy: ClaimPolicy = waiting ? { ...policy, onInProgress: 'pending' } : policy;
	const committed: Committed[] = [];
	try {
		const decided = await claimOnce(store, jobs, pollPolicy, actor, now, committed);
		if (!waiting) return decided;

		const deadline = Date.now() + wait.waitMs;
		let pollMs = wait.pollMs ?? 250;
		let pending = jobs.filter((job) => decided.get(job)?.outcome === 'pending');
		while (pending.length > 0) {
			const last = Date.now() + pollMs >= deadline;
			if (!last) await sleep(pollMs);
			else await sleep(Math.max(0, deadline - Date.now()));
			// In-batch repeats were recorded by the first call; polls must not record them again.
			const polls: ClaimJob[] = pending.map((job) => ({ namespace: job.namespace, request: { key: job.request.key, fingerprint: job.request.fingerprint } }));
			// The last poll decides for good: still in progress → policy.onInProgress (ambiguous).
			const again = await claimOnce(store, polls, last ? policy : pollPolicy, actor, now, committed);
			polls.forEach((poll, i) => decided.set(pending[i], again.get(poll)!));
			pending = pending.filter((job) => decided.get(job)?.outcome === 'pending');
			pollMs = Math.min(pollMs * 2, 2000);
		}
		return decided;
	} catch (error) {
		await undoClaims(store, committed, actor);
		throw error;
	}
}

/**
 * Every `new` of the failed input is undone: the key gets back the record its claim found
 * (a retried `failed` key its attempt, a `received` key its state, a fresh key nothing). The
 * store restores only records that still carry this claim's token, so a key someone else has
 * taken or settled since is left alone. Best effort: when the store is down too, the leases run
 * out as they would after a crash.
 */
async function undoClaims(store: IdempotencyStore, committed: readonly Committed[], actor: Actor): Promise<void> {
	// All at once: each call's keys are its own (a key is New in at most one of them), and a store
	// whose replicas lag makes each undo wait for them (Redis: twice the Replica Timeout) — one
	// after another, an input of many chunks reported its failure that many waits later.
	await Promise.all(
		committed.map(({ namespace, decisions }) => {
			const taken = restoreRequestsOf(decisions);
			return taken.length > 0 ? store.restore(namespace, taken, actor).catch(() => undefined) : undefined;
		}),
	);
}
