// The one execute behind the four transitions (Mark Processed, Mark Failed, Mark Received,
// Release): every item's key is resolved first, then each namespace's transitions are applied in
// one round trip for the whole input and the items routed to Applied or Rejected. A transition
// file says only what its kind adds to the request (a result, an error message).

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { groupBy } from '../../shared/util/lists';
import { actorOf, iso } from '../../shared/n8n/actor';
import { booleanProperty } from '../../shared/n8n/descriptions';
import { nodeError } from '../../shared/n8n/errors';
import { errorItem, outputItem, prepareItems } from '../../shared/n8n/items';
import type { StoreOperation } from '../../shared/n8n/operations';
import { ParameterReader } from '../../shared/n8n/parameters';
import { TRANSITION_KINDS, type IdempotencyStore, type TransitionKind, type TransitionRequest, type TransitionResult } from '../../shared/store/types';
import { LedgerKeys } from '../helpers/ledgerKeys';

const DEFAULT_RETENTION_MS = 30 * 86_400_000;

/** What one item's inputs add to its transition request. */
export type RequestInputs = (input: {
	ctx: IExecuteFunctions;
	parameters: ParameterReader;
	itemIndex: number;
}) => Partial<Pick<TransitionRequest, 'resultJson' | 'errorMessage'>>;

/** Force and Verify Claim: shown for every transition. */
export const transitionOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	displayOptions: { show: { operation: [...TRANSITION_KINDS] } },
	options: [
		booleanProperty(
			'Force',
			'force',
			false,
			'Whether to move the key whatever its state or token (an operator override, recorded as forced in its history)',
		),
		booleanProperty(
			'Verify Claim',
			'verifyClaim',
			true,
			'Whether settling a claim needs its claim token, so a stale run whose lease was taken over is rejected (claim_lost) instead of overwriting the new owner',
		),
	],
};

/** The item after its transition: `ledger` says what happened, `_idempotency.state` what the key is now. */
function appliedItem(
	items: INodeExecutionData[],
	index: number,
	kind: TransitionKind,
	namespace: string,
	request: TransitionRequest,
	result: TransitionResult,
): INodeExecutionData {
	const ledger: IDataObject = {
		operation: kind,
		namespace,
		key: request.key,
		applied: result.applied,
		noop: result.noop,
		reason: result.rejectReason,
		state: result.record?.state ?? null,
		attempt: result.record?.attempt ?? null,
		updatedAt: iso(result.record?.updatedAt),
	};
	const json: IDataObject = { ...items[index].json, ledger };
	// The Guard's metadata on the item said `processing`; after an applied transition it says
	// what the key is now, so a later node reading _idempotency.state is not misled.
	const guardMeta = json._idempotency;
	if (result.applied && guardMeta && typeof guardMeta === 'object' && !Array.isArray(guardMeta)) {
		json._idempotency = { ...(guardMeta as IDataObject), state: result.record?.state ?? null };
	}
	return outputItem(items, index, json);
}

async function applyTransitions(
	ctx: IExecuteFunctions,
	store: IdempotencyStore,
	kind: TransitionKind,
	inputs: RequestInputs,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const parameters = new ParameterReader(ctx, items);
	const keys = new LedgerKeys(ctx, parameters);
	const options = ctx.getNodeParameter('options', 0, {}) as { verifyClaim?: boolean; force?: boolean };
	const verifyClaim = options.verifyClaim !== false;
	const force = options.force === true;

	const { prepared, failed } = prepareItems(ctx, (itemIndex) => {
		const ref = keys.resolve(itemIndex);
		const request: TransitionRequest = {
			kind,
			key: ref.key,
			claimToken: ref.claimToken,
			verifyClaim,
			force,
			retentionMs: DEFAULT_RETENTION_MS,
			resultJson: null,
			errorMessage: null,
			...inputs({ ctx, parameters, itemIndex }),
		};
		return { namespace: ref.namespace, request };
	});

	const outcome = new Map<number, INodeExecutionData>();
	const actor = actorOf(ctx);
	for (const [namespace, list] of groupBy(prepared, (entry) => entry.value.namespace)) {
		let results: TransitionResult[];
		try {
			results = await store.transition(namespace, list.map((entry) => entry.value.request), actor);
		} catch (error) {
			const problem = nodeError(ctx, error, 'The State Ledger failed');
			if (!ctx.continueOnFail()) throw problem;
			for (const entry of list) outcome.set(entry.index, errorItem(items, entry.index, problem));
			continue;
		}
		list.forEach((entry, n) => outcome.set(entry.index, appliedItem(items, entry.index, kind, namespace, entry.value.request, results[n])));
	}
	for (const [index, error] of failed) outcome.set(index, errorItem(items, index, error));

	const applied: INodeExecutionData[] = [];
	const rejected: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const out = outcome.get(i);
		if (!out) continue;
		const ok = (out.json.ledger as IDataObject | undefined)?.applied === true;
		(ok ? applied : rejected).push(out);
	}
	return [applied, rejected];
}

/** A transition operation of `kind`: Applied and Rejected outputs; `inputs` adds its own fields. */
export function transitionOperation(kind: TransitionKind, inputs: RequestInputs = () => ({})): Omit<StoreOperation, 'description'> {
	return {
		outputCount: () => 2,
		execute(this: IExecuteFunctions, store: IdempotencyStore) {
			return applyTransitions(this, store, kind, inputs);
		},
	};
}
