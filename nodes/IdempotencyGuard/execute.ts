// The Guard's execute(): reads each item's namespace, key and fingerprint, lets the store decide
// every distinct key in one round trip per chunk, and routes each item to New, Duplicate or
// Ambiguous with its `_idempotency` metadata. The decisions themselves are made in the store.

import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { claimAll, type ClaimJob } from '../shared/claims';
import { planBatch, type PreparedItem } from '../shared/engine/batch';
import { fingerprintFields, fingerprintItem } from '../shared/engine/fingerprint';
import {
	buildKeyFromFields,
	buildKeyFromValue,
	DEFAULT_NORMALIZE,
	type NormalizeStep,
} from '../shared/engine/keys';
import { actorOf, iso } from '../shared/n8n/actor';
import { itemError } from '../shared/n8n/errors';
import { fieldPathsParameter } from '../shared/n8n/fieldPaths';
import { hintHeldByEarlierRun } from '../shared/n8n/hints';
import { resolveStore } from '../shared/n8n/resolveStore';
import { IdempotencyError, InvalidInputError } from '../shared/store/errors';
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
	/** Only for missing_key and store_unavailable: what exactly was wrong. */
	detail?: string;
}

function positive(value: unknown, fallback: number, name: string): number {
	const n = value === undefined || value === null || value === '' ? fallback : Number(value);
	if (!Number.isFinite(n) || n < 0) {
		throw new InvalidInputError(`Option "${name}" must be a number of 0 or more, got ${String(value)}`);
	}
	return n;
}

export function policyFrom(options: GuardOptions): ClaimPolicy {
	const leaseSeconds = positive(options.leaseSeconds, 300, 'Lease (Seconds)');
	if (leaseSeconds <= 0) throw new InvalidInputError('Option "Lease (Seconds)" must be at least 1');
	const maxAttempts = positive(options.maxAttempts, 3, 'Max Attempts');
	if (maxAttempts < 1) throw new InvalidInputError('Option "Max Attempts" must be at least 1');
	return {
		leaseMs: Math.round(leaseSeconds * 1000),
		retentionMs: Math.round(positive(options.retentionDays, 30, 'Retention (Days)') * DAY_MS),
		onInProgress: options.onInProgress === 'duplicate' ? 'duplicate' : 'ambiguous',
		onLeaseExpired: options.onLeaseExpired === 'reclaim' ? 'reclaim' : 'ambiguous',
		onFailed: options.onFailed === 'ambiguous' ? 'ambiguous' : 'retry',
		maxAttempts: Math.floor(maxAttempts),
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

export async function executeGuard(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputs: INodeExecutionData[][] = [[], [], []];
	if (items.length === 0) return outputs;

	const node = this.getNode();
	const keySource = this.getNodeParameter('keySource', 0, 'fields') as 'fields' | 'expression';
	const fingerprintMode = this.getNodeParameter('fingerprint', 0, 'none') as 'none' | 'item' | 'fields';
	const options = this.getNodeParameter('options', 0, {}) as GuardOptions;
	const steps = (options.normalize ?? DEFAULT_NORMALIZE) as NormalizeStep[];
	const hashKeys = options.hashKeys === true;
	const onMissingKey = options.onMissingKey ?? 'ambiguous';
	const onStoreError = options.onStoreError ?? 'error';
	let policy: ClaimPolicy;
	try {
		policy = policyFrom(options);
	} catch (error) {
		throw new NodeOperationError(node, (error as Error).message, {
			description: 'Open Options on the Guard and correct the value.',
		});
	}
	const waitMs =
		options.onInProgress === 'wait' ? Math.round(positive(options.waitSeconds, 30, 'Wait (Seconds)') * 1000) : 0;

	const keyFields = keySource === 'fields' ? fieldPathsParameter(this, 'keyFields') : [];
	if (keySource === 'fields' && keyFields.length === 0) {
		throw new NodeOperationError(node, 'No key fields are set', {
			description: 'Enter the comma-separated field paths that identify a business event, e.g. body.email, body.source.',
		});
	}
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

	const fail = (index: number, error: NodeOperationError) => {
		if (!this.continueOnFail()) throw error;
		errors[index] = error;
	};

	for (let i = 0; i < items.length; i++) {
		const json = items[i].json;
		let namespace: string;
		try {
			namespace = validateNamespace(this.getNodeParameter('namespace', i));
		} catch (error) {
			fail(i, itemError(this, error, i));
			continue;
		}
		const keyResult =
			keySource === 'fields'
				? buildKeyFromFields(json, keyFields, steps, hashKeys)
				: buildKeyFromValue(this.getNodeParameter('key', i, ''), steps, hashKeys);
		if (!keyResult.ok) {
			if (onMissingKey === 'error') {
				fail(
					i,
					new NodeOperationError(node, `Item ${i} has no usable business key: ${keyResult.problem}`, {
						itemIndex: i,
						description:
							'Check the Key Fields (or Key expression) against this item, or set On Missing Key to Ambiguous to route such items to a person.',
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
	}

	const plan = planBatch(prepared);
	if (plan.claims.length > 0) {
		const jobs: ClaimJob[] = plan.claims.map((claim) => ({ namespace: claim.namespace, request: claim.request }));
		try {
			const store = await resolveStore(this);
			const decided = await claimAll(store, jobs, policy, actorOf(this), { waitMs });
			plan.claims.forEach((claim, n) => {
				meta[claim.firstIndex] = metadataOf(claim.namespace, decided.get(jobs[n])!);
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
