// The Guard's one operation: reads each item's namespace, key and fingerprint, lets the store
// decide every distinct key in one round trip per chunk, and routes each item to New, Duplicate
// or Ambiguous with its `_idempotency` metadata. The decisions themselves are made in the store.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, NodeOperationError } from 'n8n-workflow';
import { claimAll, legacyConflicts } from '../../shared/claims';
import { planBatch, type Claim, type PreparedItem } from '../../shared/engine/batch';
import { fingerprintFields, fingerprintItem } from '../../shared/engine/fingerprint';
import { buildKeyFromFields, buildKeyFromValue } from '../../shared/engine/keys';
import { buildKeyFromProvider } from '../../shared/engine/providerKeys';
import { errorFields, hintOf, nodeError, operationError } from '../../shared/n8n/errors';
import { hintDurability, hintHeldByEarlierRun } from '../../shared/n8n/hints';
import { outputItem, prepareItems } from '../../shared/n8n/items';
import { ParameterReader } from '../../shared/n8n/parameters';
import { resolveStore } from '../../shared/n8n/resolveStore';
import { StoreUnavailableError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import type { ClaimDecision, ClaimPolicy, Outcome } from '../../shared/store/types';
import { metadataOf, repeatOf, undecided, type IdempotencyMetadata } from '../helpers/metadata';
import { guardSettings, type GuardSettings } from '../helpers/settings';
import { claimActorOf, isManualRun, restoreNews, takeOverTestRunClaims, type Holder } from '../helpers/testRuns';
import { keyDescription } from './key.description';
import { fingerprintDescription, optionsDescription } from './options.description';

export const description: INodeProperties[] = [...keyDescription, ...fingerprintDescription, optionsDescription];

const OUTPUT: Record<Outcome, number> = { new: 0, duplicate: 1, ambiguous: 2 };

/** What reading one item gave: a key to claim, or metadata without a claim (no usable key). */
type Read = { claim: PreparedItem } | { meta: IdempotencyMetadata };

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
		const hint = providerSource
			? 'Check that this item is the provider\'s webhook request as the Webhook node outputs it (headers and body) and that Provider names the service that sent it, or set On Missing Key to Ambiguous to route such items to a person.'
			: 'Check the Key Fields (or Key expression) against this item, or set On Missing Key to Ambiguous to route such items to a person.';
		if (settings.onMissingKey === 'ambiguous') return { meta: undecided(namespace, null, 'missing_key', keyResult.problem, hint) };
		throw operationError(ctx.getNode(), `Item ${i} has no usable business key: ${keyResult.problem}`, { itemIndex: i, hint });
	}
	let fingerprint: string | null = null;
	if (settings.fingerprintMode === 'item') fingerprint = fingerprintItem(json);
	else if (settings.fingerprintMode === 'fields') fingerprint = fingerprintFields(json, settings.fingerprintFields);
	const claim: PreparedItem = { index: i, namespace, key: keyResult.key, fingerprint };
	if (keyResult.legacyKey !== undefined) claim.legacyKey = keyResult.legacyKey;
	return { claim };
}

/**
 * What the store said about the input: the metadata of each claim's first item — or, when the
 * store failed and the items are to be routed anyway (On Store Error: Ambiguous, or
 * continue-on-fail), why, for every item, and the error each carries under continue-on-fail.
 */
type Decisions =
	| { decided: Map<number, IdempotencyMetadata> }
	| { failed: { detail: string; hint: string | undefined; error: NodeOperationError | null } };

const STORE_FIX = 'Check that the store is reachable with this credential.';

/**
 * Claims the plan's keys. A store that fails routes every claimed item to Ambiguous (On Store
 * Error, only when the store is unavailable), fails the node, or — under continueOnFail — gives
 * each of them the error.
 */
async function decide(ctx: IExecuteFunctions, settings: GuardSettings, claims: readonly Claim[]): Promise<Decisions> {
	// Set while a first claim round stands and a later step may still fail: undoes its news.
	let undoFirstRound: (() => Promise<void>) | null = null;
	try {
		const store = await resolveStore(ctx);
		const held = await legacyConflicts(store, claims);
		const actor = claimActorOf(ctx);
		const claimed = claims.filter((claim) => !held.has(claim));
		// A test run takes back what an earlier test run of this workflow left claimed (testRuns.ts):
		// it first only looks at keys in progress (policy `pending`: nothing written for them), so a
		// key it takes back leaves no ambiguous event and no wait; the rest is decided as usual.
		const takeOver = isManualRun(ctx) && settings.testRunsTakeOver;
		const probe: ClaimPolicy = { ...settings.policy, onInProgress: 'pending' };
		const decided: Map<Claim, ClaimDecision> = await claimAll(store, claimed, takeOver ? probe : settings.policy, actor, {
			waitMs: takeOver ? 0 : settings.waitMs,
		});
		let holders = new Map<Claim, Holder>();
		if (isManualRun(ctx)) {
			undoFirstRound = () => restoreNews(store, claimed, decided, actor);
			holders = await takeOverTestRunClaims(store, claimed, decided, actor, takeOver, (again) => claimAll(store, again, probe, actor, { waitMs: 0 }));
			const pending = claimed.filter((claim) => decided.get(claim)!.outcome === 'pending');
			if (pending.length > 0) {
				// In-batch repeats were recorded by the first call; this one must not record them again.
				const polls = pending.map((claim) => ({ namespace: claim.namespace, request: { key: claim.request.key, fingerprint: claim.request.fingerprint } }));
				const final = await claimAll(store, polls, settings.policy, actor, { waitMs: settings.waitMs });
				polls.forEach((poll, n) => {
					const decision = final.get(poll)!;
					decided.set(pending[n], decision);
					if (decision.reason !== 'in_progress') holders.delete(pending[n]);
				});
			}
			undoFirstRound = null;
		}
		const meta = new Map<number, IdempotencyMetadata>();
		for (const claim of claims) {
			const holder = holders.get(claim);
			meta.set(
				claim.firstIndex,
				held.has(claim)
					? undecided(claim.namespace, claim.request.key, 'legacy_key', `a record exists under the key as written: ${claim.legacyKey}`)
					: { ...metadataOf(claim.namespace, decided.get(claim)!), ...(holder ? { heldBy: holder } : {}) },
			);
		}
		await hintDurability(ctx, store);
		return { decided: meta };
	} catch (error) {
		if (undoFirstRound) await undoFirstRound();
		const detail = String((error as Error)?.message ?? error);
		// Only a store that could not serve the call is "unavailable"; a wrong setting is the user's to fix.
		if (settings.onStoreError === 'ambiguous' && error instanceof StoreUnavailableError) {
			return { failed: { detail, hint: hintOf(error) ?? STORE_FIX, error: null } };
		}
		const problem = nodeError(
			ctx,
			error,
			'The idempotency store failed',
			STORE_FIX,
			error instanceof StoreUnavailableError
				? 'Nothing was routed as New; set On Store Error to Ambiguous to route items to a person while the store is down.'
				: 'Nothing was routed as New.',
		);
		if (!ctx.continueOnFail()) throw problem;
		return { failed: { detail, hint: hintOf(problem), error: problem } };
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
	const read = prepareItems(this, (i) => readItem(this, settings, parameters, i));
	for (const { index, value } of read.prepared) {
		if ('meta' in value) meta[index] = value.meta;
		else prepared.push(value.claim);
	}
	for (const [index, error] of read.failed) errors[index] = error;

	const plan = planBatch(prepared);
	const decisions: Decisions = plan.claims.length > 0 ? await decide(this, settings, plan.claims) : { decided: new Map() };
	if ('failed' in decisions) {
		const { detail, hint, error } = decisions.failed;
		for (const item of prepared) {
			meta[item.index] = undecided(item.namespace, item.key, 'store_unavailable', detail, hint);
			errors[item.index] = error;
		}
	} else {
		for (const [index, metadata] of decisions.decided) meta[index] = metadata;
	}

	for (const [index, repeat] of plan.repeats) {
		const first = meta[repeat.firstIndex];
		meta[index] = !first ? null : errors[index] ? { ...first, claimToken: null } : repeatOf(first, repeat.mismatch);
	}

	for (let i = 0; i < items.length; i++) {
		const error = errors[i];
		const metadata = meta[i];
		const json: IDataObject = { ...items[i].json };
		if (metadata) json._idempotency = metadata as unknown as IDataObject;
		if (error) Object.assign(json, errorFields(error));
		// Errors under continueOnFail never go to New: a person looks at them.
		outputs[error || !metadata ? OUTPUT.ambiguous : OUTPUT[metadata.outcome]].push(outputItem(items, i, json));
	}
	hintHeldByEarlierRun(this, meta.map((m) => (m ? { reason: m.reason, heldBy: m.heldBy } : null)), settings.testRunsTakeOver);
	return outputs;
}
