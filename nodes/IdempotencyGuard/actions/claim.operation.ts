// The Guard's one operation: reads each item's namespace, key and fingerprint, lets the store
// decide every distinct key in one round trip per chunk, and routes each item to New, Duplicate
// or Ambiguous with its `_idempotency` metadata. The decisions themselves are made in the store.

import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { claimAll, legacyConflicts, type ClaimJob } from '../../shared/claims';
import { planBatch, type BatchPlan, type PreparedItem } from '../../shared/engine/batch';
import { fingerprintFields, fingerprintItem } from '../../shared/engine/fingerprint';
import { buildKeyFromFields, buildKeyFromValue } from '../../shared/engine/keys';
import { buildKeyFromProvider } from '../../shared/engine/providerKeys';
import { hintDurability, hintHeldByEarlierRun } from '../../shared/n8n/hints';
import { outputItem, prepareItems } from '../../shared/n8n/items';
import { ParameterReader } from '../../shared/n8n/parameters';
import { resolveStore } from '../../shared/n8n/resolveStore';
import { IdempotencyError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import type { ClaimPolicy, Outcome } from '../../shared/store/types';
import { metadataOf, repeatOf, undecided, type IdempotencyMetadata } from '../helpers/metadata';
import { guardSettings, type GuardSettings } from '../helpers/settings';
import { claimActorOf, isManualRun, restoreNews, takeOverTestRunClaims, type Holder } from '../helpers/testRuns';
import { keyDescription } from './key.description';
import { fingerprintDescription, optionsDescription } from './options.description';

export const description: INodeProperties[] = [...keyDescription, ...fingerprintDescription, optionsDescription];

const OUTPUT: Record<Outcome, number> = { new: 0, duplicate: 1, ambiguous: 2 };

/** What reading one item gave: a key to claim, or metadata without a claim (no usable key). */
type Read = { claim: PreparedItem; legacyKey?: string } | { meta: IdempotencyMetadata };

function readItem(ctx: IExecuteFunctions, settings: GuardSettings, parameters: ParameterReader, i: number): Read {
	const json = ctx.getInputData()[i].json;
	const namespace = validateNamespace(parameters.get('namespace', i));
	const { keySource, keyFields, providerSource, steps, hashKeys } = settings;
	const keyResult =
		keySource === 'fields'
			? buildKeyFromFields(json, keyFields, steps, hashKeys)
			: providerSource
				? buildKeyFromProvider(json, providerSource, steps, hashKeys)
				: buildKeyFromValue(parameters.get('key', i, ''), steps, hashKeys);
	if (!keyResult.ok) {
		if (settings.onMissingKey === 'ambiguous') return { meta: undecided(namespace, null, 'missing_key', keyResult.problem) };
		throw new NodeOperationError(ctx.getNode(), `Item ${i} has no usable business key: ${keyResult.problem}`, {
			itemIndex: i,
			description: providerSource
				? 'Check that this item is the provider\'s webhook request as the Webhook node outputs it (headers and body) and that Provider names the service that sent it, or set On Missing Key to Ambiguous to route such items to a person.'
				: 'Check the Key Fields (or Key expression) against this item, or set On Missing Key to Ambiguous to route such items to a person.',
		});
	}
	let fingerprint: string | null = null;
	if (settings.fingerprintMode === 'item') fingerprint = fingerprintItem(json);
	else if (settings.fingerprintMode === 'fields') fingerprint = fingerprintFields(json, settings.fingerprintFields);
	return { claim: { index: i, namespace, key: keyResult.key, fingerprint }, legacyKey: keyResult.legacyKey };
}

/**
 * Claims the plan's keys and sets each first item's metadata. A store that fails routes every
 * claimed item to Ambiguous (On Store Error) or fails the node — or, under continueOnFail,
 * gives each of them the error.
 */
async function decide(
	ctx: IExecuteFunctions,
	settings: GuardSettings,
	plan: BatchPlan,
	prepared: readonly PreparedItem[],
	legacyKeys: ReadonlyMap<number, string>,
	meta: Array<IdempotencyMetadata | null>,
	errors: Array<NodeOperationError | null>,
): Promise<void> {
	const jobs: ClaimJob[] = plan.claims.map((claim) => ({ namespace: claim.namespace, request: claim.request }));
	// Set while a first claim round stands and a later step may still fail: undoes its news.
	let undoFirstRound: (() => Promise<void>) | null = null;
	try {
		const store = await resolveStore(ctx);
		const legacy = plan.claims.flatMap((claim, n) => {
			const legacyKey = legacyKeys.get(claim.firstIndex);
			return legacyKey === undefined ? [] : [{ job: jobs[n], legacyKey }];
		});
		const held = legacy.length > 0 ? await legacyConflicts(store, legacy) : new Set<ClaimJob>();
		const actor = claimActorOf(ctx);
		const claimed = jobs.filter((job) => !held.has(job));
		// A test run takes back what an earlier test run of this workflow left claimed (testRuns.ts):
		// it first only looks at keys in progress (policy `pending`: nothing written for them), so a
		// key it takes back leaves no ambiguous event and no wait; the rest is decided as usual.
		const takeOver = isManualRun(ctx) && settings.testRunsTakeOver;
		const probe: ClaimPolicy = { ...settings.policy, onInProgress: 'pending' };
		const decided = await claimAll(store, claimed, takeOver ? probe : settings.policy, actor, { waitMs: takeOver ? 0 : settings.waitMs });
		let holders = new Map<ClaimJob, Holder>();
		if (isManualRun(ctx)) {
			undoFirstRound = () => restoreNews(store, claimed, decided, actor);
			holders = await takeOverTestRunClaims(store, claimed, decided, actor, takeOver, (again) => claimAll(store, again, probe, actor, { waitMs: 0 }));
			const pending = claimed.filter((job) => decided.get(job)!.outcome === 'pending');
			if (pending.length > 0) {
				// In-batch repeats were recorded by the first call; this one must not record them again.
				const polls = pending.map((job) => ({ ...job, request: { key: job.request.key, fingerprint: job.request.fingerprint } }));
				const final = await claimAll(store, polls, settings.policy, actor, { waitMs: settings.waitMs });
				polls.forEach((poll, n) => {
					const decision = final.get(poll)!;
					decided.set(pending[n], decision);
					if (decision.reason !== 'in_progress') holders.delete(pending[n]);
				});
			}
			undoFirstRound = null;
		}
		plan.claims.forEach((claim, n) => {
			const holder = holders.get(jobs[n]);
			meta[claim.firstIndex] = held.has(jobs[n])
				? undecided(claim.namespace, claim.request.key, 'legacy_key', `a record exists under the key as written: ${legacyKeys.get(claim.firstIndex)}`)
				: { ...metadataOf(claim.namespace, decided.get(jobs[n])!), ...(holder ? { heldBy: holder } : {}) };
		});
		await hintDurability(ctx, store);
	} catch (error) {
		if (undoFirstRound) await undoFirstRound();
		const node = ctx.getNode();
		// "No credential selected" and the like: the user's fix is in the node, not the store.
		if (error instanceof NodeOperationError && !ctx.continueOnFail()) {
			throw new NodeOperationError(node, error.message, { description: error.description ?? undefined });
		}
		const message = (error as Error).message;
		if (settings.onStoreError === 'ambiguous' && error instanceof IdempotencyError) {
			for (const item of prepared) meta[item.index] = undecided(item.namespace, item.key, 'store_unavailable', message);
			return;
		}
		const nodeError = new NodeOperationError(node, `The idempotency store failed: ${message}`, {
			description:
				'Nothing was routed as New. Check that the store is reachable with this credential, or set On Store Error to Ambiguous to route items to a person while it is down.',
		});
		if (!ctx.continueOnFail()) throw nodeError;
		for (const item of prepared) {
			errors[item.index] = nodeError;
			meta[item.index] = undecided(item.namespace, item.key, 'store_unavailable', message);
		}
	}
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputs: INodeExecutionData[][] = [[], [], []];
	if (items.length === 0) return outputs;

	const settings = guardSettings(this);
	const parameters = new ParameterReader(this, items);
	const meta = new Array<IdempotencyMetadata | null>(items.length).fill(null);
	const errors = new Array<NodeOperationError | null>(items.length).fill(null);
	const prepared: PreparedItem[] = [];
	const legacyKeys = new Map<number, string>();
	const read = prepareItems(this, (i) => readItem(this, settings, parameters, i));
	for (const { index, value } of read.prepared) {
		if ('meta' in value) {
			meta[index] = value.meta;
			continue;
		}
		prepared.push(value.claim);
		if (value.legacyKey !== undefined) legacyKeys.set(index, value.legacyKey);
	}
	for (const [index, error] of read.failed) errors[index] = error;

	const plan = planBatch(prepared);
	if (plan.claims.length > 0) await decide(this, settings, plan, prepared, legacyKeys, meta, errors);

	for (const [index, repeat] of plan.repeats) {
		const first = meta[repeat.firstIndex];
		meta[index] = !first ? null : errors[index] ? { ...first, claimToken: null } : repeatOf(first, repeat.mismatch);
	}

	for (let i = 0; i < items.length; i++) {
		const error = errors[i];
		const metadata = meta[i];
		const json: IDataObject = { ...items[i].json };
		if (metadata) json._idempotency = metadata as unknown as IDataObject;
		if (error) json.error = error.message;
		// Errors under continueOnFail never go to New: a person looks at them.
		outputs[error || !metadata ? OUTPUT.ambiguous : OUTPUT[metadata.outcome]].push(outputItem(items, i, json));
	}
	hintHeldByEarlierRun(this, meta.map((m) => (m ? { reason: m.reason, heldBy: m.heldBy } : null)), settings.testRunsTakeOver);
	return outputs;
}
