// The Guard's execute(): reads each item's namespace, key and fingerprint, lets the store decide
// every distinct key in one round trip per chunk, and routes each item to New, Duplicate or
// Ambiguous with its `_idempotency` metadata. The decisions themselves are made in the store.

import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { claimAll, legacyConflicts, type ClaimJob } from '../shared/claims';
import { planBatch, type PreparedItem } from '../shared/engine/batch';
import { fingerprintFields, fingerprintItem } from '../shared/engine/fingerprint';
import {
	buildKeyFromFields,
	buildKeyFromValue,
	DEFAULT_NORMALIZE,
	type NormalizeStep,
} from '../shared/engine/keys';
import { buildKeyFromProvider, isWebhookProvider, normalizeHeaderName, type ProviderKeySource } from '../shared/engine/providerKeys';
import { boundedNumber } from '../shared/engine/bounds';
import { actorOf, iso } from '../shared/n8n/actor';
import { itemError } from '../shared/n8n/errors';
import { fieldPathsParameter } from '../shared/n8n/fieldPaths';
import { hintHeldByEarlierRun } from '../shared/n8n/hints';
import { ParameterReader } from '../shared/n8n/parameters';
import { resolveStore } from '../shared/n8n/resolveStore';
import { IdempotencyError } from '../shared/store/errors';
import { validateNamespace } from '../shared/store/identifiers';
import type { ClaimDecision, ClaimPolicy, Outcome, Reason, RecordState } from '../shared/store/types';

const OUTPUT: Record<Outcome, number> = { new: 0, duplicate: 1, ambiguous: 2 };
const DAY_MS = 86_400_000;

export interface GuardOptions {
	normalize?: NormalizeStep[];
	hashKeys?: boolean;
	leaseSeconds?: number;
	retentionDays?: number;
	onInProgress?: 'ambiguous' | 'duplicate' | 'wait';
	waitSeconds?: number;
	onLeaseExpired?: 'ambiguous' | 'reclaim';
	onFailed?: 'retry' | 'ambiguous';
	maxAttempts?: number;
	onPayloadMismatch?: 'ambiguous' | 'duplicate';
	onMissingKey?: 'ambiguous' | 'error';
	onStoreError?: 'error' | 'ambiguous';
}

export interface IdempotencyMetadata {
	namespace: string | null;
	key: string | null;
	outcome: Outcome;
	reason: Reason;
	state: RecordState | null;
	attempt: number;
	claimToken: string | null;
	firstSeenAt: string | null;
	lastSeenAt: string | null;
	leaseUntil: string | null;
	result: unknown;
	/** Only for missing_key, store_unavailable and legacy_key: what exactly was wrong. */
	detail?: string;
}

/** The claim policy from the Guard's options (read once, at item 0); every number in its range. */
export function policyFrom(options: GuardOptions): ClaimPolicy {
	return {
		leaseMs: Math.round(boundedNumber('leaseSeconds', options.leaseSeconds, 300, 0) * 1000),
		retentionMs: Math.round(boundedNumber('retentionDays', options.retentionDays, 30, 0) * DAY_MS),
		onInProgress: options.onInProgress === 'duplicate' ? 'duplicate' : 'ambiguous',
		onLeaseExpired: options.onLeaseExpired === 'reclaim' ? 'reclaim' : 'ambiguous',
		onFailed: options.onFailed === 'ambiguous' ? 'ambiguous' : 'retry',
		maxAttempts: boundedNumber('maxAttempts', options.maxAttempts, 3, 0),
		onPayloadMismatch: options.onPayloadMismatch === 'duplicate' ? 'duplicate' : 'ambiguous',
	};
}

function metadataOf(namespace: string, decision: ClaimDecision): IdempotencyMetadata {
	return {
		namespace,
		key: decision.key,
		outcome: decision.outcome as Outcome,
		reason: decision.reason,
		state: decision.state,
		attempt: decision.attempt,
		claimToken: decision.outcome === 'new' ? decision.claimToken : null,
		firstSeenAt: iso(decision.firstSeenAt),
		lastSeenAt: iso(decision.lastSeenAt),
		leaseUntil: iso(decision.leaseUntil),
		result: decision.result ?? null,
	};
}

function undecided(
	namespace: string | null,
	key: string | null,
	reason: Reason,
	detail: string,
): IdempotencyMetadata {
	return {
		namespace,
		key,
		outcome: 'ambiguous',
		reason,
		state: null,
		attempt: 0,
		claimToken: null,
		firstSeenAt: null,
		lastSeenAt: null,
		leaseUntil: null,
		result: null,
		detail,
	};
}

function providerSourceOf(context: IExecuteFunctions): ProviderKeySource {
	const node = context.getNode();
	const provider = context.getNodeParameter('provider', 0, 'standardWebhooks');
	if (!isWebhookProvider(provider)) {
		throw new NodeOperationError(node, `Unknown webhook provider "${String(provider)}"`, {
			description: 'Pick a provider from the Provider list, or Custom Header for one that is not listed.',
		});
	}
	if (provider !== 'customHeader') return { provider };
	const headerName = normalizeHeaderName(context.getNodeParameter('headerName', 0, ''));
	if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(headerName)) {
		throw new NodeOperationError(node, headerName ? `"${headerName}" is not a header name` : 'No header name is set', {
			description: 'Enter the request header that carries the delivery ID, e.g. x-request-id (letters, digits and dashes, no colon).',
		});
	}
	return { provider, headerName };
}

export async function executeGuard(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputs: INodeExecutionData[][] = [[], [], []];
	if (items.length === 0) return outputs;

	const node = this.getNode();
	const keySource = this.getNodeParameter('keySource', 0, 'fields') as 'fields' | 'expression' | 'provider';
	const fingerprintMode = this.getNodeParameter('fingerprint', 0, 'none') as 'none' | 'item' | 'fields';
	const options = this.getNodeParameter('options', 0, {}) as GuardOptions;
	const steps = (options.normalize ?? DEFAULT_NORMALIZE) as NormalizeStep[];
	const hashKeys = options.hashKeys === true;
	const onMissingKey = options.onMissingKey ?? 'ambiguous';
	const onStoreError = options.onStoreError ?? 'error';
	let policy: ClaimPolicy;
	let waitMs = 0;
	try {
		// Before anything touches the store: an expression may give any number.
		policy = policyFrom(options);
		if (options.onInProgress === 'wait') waitMs = Math.round(boundedNumber('waitSeconds', options.waitSeconds, 30, 0) * 1000);
	} catch (error) {
		throw itemError(this, error, 0);
	}

	const keyFields = keySource === 'fields' ? fieldPathsParameter(this, 'keyFields') : [];
	if (keySource === 'fields' && keyFields.length === 0) {
		throw new NodeOperationError(node, 'No key fields are set', {
			description: 'Enter the comma-separated field paths that identify a business event, e.g. body.email, body.source.',
		});
	}
	const providerSource = keySource === 'provider' ? providerSourceOf(this) : null;
	const printFields =
		fingerprintMode === 'fields' ? fieldPathsParameter(this, 'fingerprintFields') : [];
	if (fingerprintMode === 'fields' && printFields.length === 0) {
		throw new NodeOperationError(node, 'No fingerprint fields are set', {
			description: 'Enter the comma-separated fields whose values must match on every delivery, e.g. body.amount, body.currency.',
		});
	}

	const meta = new Array<IdempotencyMetadata | null>(items.length).fill(null);
	const errors = new Array<NodeOperationError | null>(items.length).fill(null);
	const prepared: PreparedItem[] = [];
	const legacyKeys = new Map<number, string>();
	const parameters = new ParameterReader(this, items);

	const fail = (index: number, error: NodeOperationError) => {
		if (!this.continueOnFail()) throw error;
		errors[index] = error;
	};

	for (let i = 0; i < items.length; i++) {
		const json = items[i].json;
		let namespace: string;
		try {
			namespace = validateNamespace(parameters.get('namespace', i));
		} catch (error) {
			fail(i, itemError(this, error, i));
			continue;
		}
		const keyResult =
			keySource === 'fields'
				? buildKeyFromFields(json, keyFields, steps, hashKeys)
				: providerSource
					? buildKeyFromProvider(json, providerSource, steps, hashKeys)
					: buildKeyFromValue(parameters.get('key', i, ''), steps, hashKeys);
		if (!keyResult.ok) {
			if (onMissingKey === 'error') {
				fail(
					i,
					new NodeOperationError(node, `Item ${i} has no usable business key: ${keyResult.problem}`, {
						itemIndex: i,
						description: providerSource
							? 'Check that this item is the provider\'s webhook request as the Webhook node outputs it (headers and body) and that Provider names the service that sent it, or set On Missing Key to Ambiguous to route such items to a person.'
							: 'Check the Key Fields (or Key expression) against this item, or set On Missing Key to Ambiguous to route such items to a person.',
					}),
				);
			} else {
				meta[i] = undecided(namespace, null, 'missing_key', keyResult.problem);
			}
			continue;
		}
		let fingerprint: string | null = null;
		if (fingerprintMode === 'item') fingerprint = fingerprintItem(json);
		else if (fingerprintMode === 'fields') fingerprint = fingerprintFields(json, printFields);
		prepared.push({ index: i, namespace, key: keyResult.key, fingerprint });
		if (keyResult.legacyKey !== undefined) legacyKeys.set(i, keyResult.legacyKey);
	}

	const plan = planBatch(prepared);
	if (plan.claims.length > 0) {
		const jobs: ClaimJob[] = plan.claims.map((claim) => ({ namespace: claim.namespace, request: claim.request }));
		try {
			const store = await resolveStore(this);
			const legacy = plan.claims.flatMap((claim, n) => {
				const legacyKey = legacyKeys.get(claim.firstIndex);
				return legacyKey === undefined ? [] : [{ job: jobs[n], legacyKey }];
			});
			const held = legacy.length > 0 ? await legacyConflicts(store, legacy) : new Set<ClaimJob>();
			const decided = await claimAll(store, jobs.filter((job) => !held.has(job)), policy, actorOf(this), { waitMs });
			plan.claims.forEach((claim, n) => {
				meta[claim.firstIndex] = held.has(jobs[n])
					? undecided(claim.namespace, claim.request.key, 'legacy_key', `a record exists under the key as written: ${legacyKeys.get(claim.firstIndex)}`)
					: metadataOf(claim.namespace, decided.get(jobs[n])!);
			});
		} catch (error) {
			// "No credential selected" and the like: the user's fix is in the node, not the store.
			if (error instanceof NodeOperationError && !this.continueOnFail()) {
				throw new NodeOperationError(node, error.message, { description: error.description ?? undefined });
			}
			const message = (error as Error).message;
			if (onStoreError === 'ambiguous' && error instanceof IdempotencyError) {
				for (const item of prepared) meta[item.index] = undecided(item.namespace, item.key, 'store_unavailable', message);
			} else {
				const nodeError = new NodeOperationError(node, `The idempotency store failed: ${message}`, {
					description:
						'Nothing was routed as New. Check that the store is reachable with this credential, or set On Store Error to Ambiguous to route items to a person while it is down.',
				});
				if (!this.continueOnFail()) throw nodeError;
				for (const item of prepared) {
					errors[item.index] = nodeError;
					meta[item.index] = undecided(item.namespace, item.key, 'store_unavailable', message);
				}
			}
		}
	}

	for (const [index, repeat] of plan.repeats) {
		const first = meta[repeat.firstIndex];
		if (!first || errors[index]) {
			meta[index] = first ? { ...first, claimToken: null } : null;
			continue;
		}
		meta[index] = {
			...first,
			outcome: first.reason === 'store_unavailable' ? 'ambiguous' : repeat.mismatch ? 'ambiguous' : 'duplicate',
			reason: first.reason === 'store_unavailable' ? 'store_unavailable' : 'duplicate_in_batch',
			claimToken: null,
		};
	}

	for (let i = 0; i < items.length; i++) {
		const item = items[i];
		const error = errors[i];
		const metadata = meta[i];
		const json: IDataObject = { ...item.json };
		if (metadata) json._idempotency = metadata as unknown as IDataObject;
		if (error) json.error = error.message;
		const out: INodeExecutionData = { json, pairedItem: { item: i } };
		if (item.binary) out.binary = item.binary;
		// Errors under continueOnFail never go to New: a person looks at them.
		const output = error || !metadata ? OUTPUT.ambiguous : OUTPUT[metadata.outcome];
		outputs[output].push(out);
	}
	hintHeldByEarlierRun(this, meta.map((m) => m?.reason));
	return outputs;
}
