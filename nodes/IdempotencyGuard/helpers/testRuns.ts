// Test runs in the editor take back the keys an earlier test run of the same workflow left
// claimed. Without this, the second click on "Execute workflow" gets every key Ambiguous
// (in_progress) for the whole lease, because the first test run claimed them and nothing marked
// them processed. Needs no store change:
// - a claim made in a manual run names the Guard in its history as "<node> (test run)"
//   (claimActorOf); a production claim never does (a node whose own name ends so is renamed in
//   its history), so a claim written before this version, or by a production execution, never
//   looks like a test run's;
// - the take-over is a Release bound to the holder's claim token (a compare-and-set in the
//   store's one atomic transition): if anyone took the key over or settled it after we read it,
//   the Release is refused (claim_lost) and the item stays Ambiguous. Then the key is claimed
//   again with the Guard's own policy, so a production execution that claimed it meanwhile wins.
// Only a manual run takes over, only from an earlier execution of the same workflow, and only a
// claim still `processing`.

import type { IExecuteFunctions } from 'n8n-workflow';
import { actorOf } from '../../shared/n8n/actor';
import type { ClaimJob } from '../../shared/claims';
import { groupBy } from '../../shared/util/lists';
import { restoreRequestsOf } from '../../shared/store/restoreRequests';
import type { Actor, ClaimDecision, IdempotencyStore } from '../../shared/store/types';

const TEST_RUN = ' (test run)';

export const isManualRun = (ctx: IExecuteFunctions): boolean => typeof ctx.getMode === 'function' && ctx.getMode() === 'manual';

/** The Guard's actor for its claims: a manual run's claims are marked as a test run's. */
export function claimActorOf(ctx: IExecuteFunctions): Actor {
	const actor = actorOf(ctx);
	const node = actor.node ?? '';
	if (isManualRun(ctx)) return { ...actor, node: `${node}${TEST_RUN}` };
	// A node named "… (test run)" must not make its production claims look like a test run's.
	return node.endsWith(TEST_RUN) ? { ...actor, node: `${node} [production]` } : actor;
}

/** Who holds a key an item was held on, as far as a manual run found out. */
export interface Holder {
	workflowId: string | null;
	executionId: string | null;
	testRun: boolean;
}

/**
 * Whether the key's live claim was made by a test run of this workflow in another execution than
 * this one: the record's holder and the history's last claim event, which names the execution.
 */
async function holderOf(store: IdempotencyStore, namespace: string, key: string, actor: Actor): Promise<{ holder: Holder; token: string | null } | null> {
	const record = await store.get(namespace, key);
	if (!record || record.state !== 'processing') return null;
	const history = await store.history(namespace, key);
	const claim = [...history].reverse().find((entry) => entry.event === 'claimed' || entry.event === 'reclaimed');
	const testRun =
		!!claim && claim.executionId === record.executionId && typeof claim.node === 'string' && claim.node.endsWith(TEST_RUN);
	const ours = testRun && record.workflowId !== null && record.workflowId === actor.workflowId && record.executionId !== actor.executionId;
	return { holder: { workflowId: record.workflowId, executionId: record.executionId, testRun }, token: ours ? record.claimToken : null };
}

/**
 * Undoes the `new`s of the first claim round when the take-over fails (all or nothing, as
 * claimAll): each key gets back the record its claim found, where it still carries that token.
 */
export async function restoreNews<J extends ClaimJob>(store: IdempotencyStore, jobs: readonly J[], decided: Map<J, ClaimDecision>, actor: Actor): Promise<void> {
	for (const [namespace, list] of groupBy(jobs, (job) => job.namespace)) {
		const requests = restoreRequestsOf(list.flatMap((job) => decided.get(job) ?? []));
		if (requests.length > 0) await store.restore(namespace, requests, actor).catch(() => undefined);
	}
}

/**
 * After the claim, in a manual run: each key held `in_progress` by an earlier test run of this
 * workflow is released with that run's token and claimed again. Returns who holds the keys still
 * held (for the item's metadata and the Router's Slack text). With `takeOver` off it only looks.
 */
export async function takeOverTestRunClaims<J extends ClaimJob>(
	store: IdempotencyStore,
	jobs: readonly J[],
	decided: Map<J, ClaimDecision>,
	actor: Actor,
	takeOver: boolean,
	claimAgain: (jobs: ClaimJob[]) => Promise<Map<ClaimJob, ClaimDecision>>,
): Promise<Map<J, Holder>> {
	const holders = new Map<J, Holder>();
	const held = jobs.filter((job) => decided.get(job)?.reason === 'in_progress');
	const released: J[] = [];
	for (const [namespace, list] of groupBy(held, (job) => job.namespace)) {
		const found = await Promise.all(list.map((job) => holderOf(store, namespace, job.request.key, actor)));
		const mine = list.flatMap((job, n) => {
			const seen = found[n];
			if (seen) holders.set(job, seen.holder);
			return takeOver && seen?.token ? [{ job, token: seen.token }] : [];
		});
		if (mine.length === 0) continue;
		const results = await store.transition(
			namespace,
			mine.map(({ job, token }) => ({ kind: 'release', key: job.request.key, claimToken: token, verifyClaim: true, force: false, retentionMs: 0 })),
			actor,
		);
		results.forEach((result, n) => {
			if (result.applied) released.push(mine[n].job);
		});
	}
	if (released.length === 0) return holders;
	// In-batch repeats were recorded by the first claim; the second must not record them again.
	const again: ClaimJob[] = released.map((job) => ({ namespace: job.namespace, request: { key: job.request.key, fingerprint: job.request.fingerprint } }));
	const redecided = await claimAgain(again);
	again.forEach((job, n) => {
		const decision = redecided.get(job)!;
		decided.set(released[n], decision);
		// Held again means someone else claimed it in between: no longer the holder we read.
		holders.delete(released[n]);
	});
	return holders;
}
