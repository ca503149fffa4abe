// Reconcile: settles a key whose write has an unknown outcome (a stuck claim from the Idempotency
// Trigger, an exception from the Router or the Trigger) once the workflow has looked the key up in
// the target system. Found → the key is processed with what the lookup found and its exceptions
// are resolved `reconciled`. Not found → the key is released (replayed) only if the lookup came
// after the claim ended plus the settle delay and the key still carries the claim that was looked
// up — both checked by the store in the same atomic step as the release — else it is left open
// with the reason. Outputs: Processed, Replayed, Left Open.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { boundedNumber } from '../../shared/engine/bounds';
import { actorOf, iso } from '../../shared/n8n/actor';
import { explicitKeyProperty, keySourceProperty, numberProperty } from '../../shared/n8n/descriptions';
import { itemError } from '../../shared/n8n/errors';
import { presentException } from '../../shared/n8n/exceptionItem';
import { errorItem } from '../../shared/n8n/items';
import { storedKeyAsWritten } from '../../shared/n8n/keyReference';
import { findOnLineage, GUARD_TYPE, upstreamOfTypes } from '../../shared/n8n/guardLineage';
import { presentRecord, resultJsonOf } from '../../shared/n8n/records';
import { InvalidInputError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import type { IdempotencyStore, KeyRecord, ResolveExceptionResult } from '../../shared/store/types';

const show = { operation: ['reconcile'] };
/** The nodes of this package whose items name a key: the Guard, the Trigger, the Router. */
const KEYED_NODES = [GUARD_TYPE, 'n8n-nodes-idempotency.idempotencyTrigger', 'n8n-nodes-idempotency.exceptionRouter'];
export const DEFAULT_SETTLE_SECONDS = 120;
/** How far Looked Up At may be ahead of this process's clock (clocks of two machines differ a little). */
const MAX_CLOCK_AHEAD_MS = 60_000;

export const description: INodeProperties[] = [
	keySourceProperty(
		{
			metadata:
				"The item's _idempotency (a stuck claim from the Trigger, a Guard's item) or exception (the Router's or the Trigger's), on the item or the item it came from, e.g. before the lookup replaced it",
			explicit: 'Give namespace and key',
		},
		show,
	),
	explicitKeyProperty({ operation: ['reconcile'], keySource: ['explicit'] }),
	{
		displayName: 'Claim Token',
		name: 'claimToken',
		type: 'string',
		default: '',
		description: 'The claim that was looked up (its _idempotency.claimToken), when known; a replay then needs the key to still carry it',
		displayOptions: { show: { operation: ['reconcile'], keySource: ['explicit'] } },
	},
	{
		displayName: 'Found',
		name: 'found',
		type: 'string',
		default: '',
		required: true,
		placeholder: '={{ $json.results.length > 0 }}',
		description:
			'Whether the lookup found the write in the target system: an expression that gives true or false for each item, e.g. {{ $json.total > 0 }}. Anything else is an error, so a lookup that was not understood never replays.',
		displayOptions: { show },
	},
	{
		displayName: 'Result',
		name: 'result',
		type: 'json',
		default: '={{ $json }}',
		description:
			'When found: what later duplicates receive, e.g. {{ { "contactId": $json.results[0].id } }}. By default the lookup\'s answer (at most 64 KB).',
		displayOptions: { show },
	},
	{
		displayName: 'Looked Up At',
		name: 'lookedUpAt',
		type: 'string',
		default: '={{ $now.toISO() }}',
		description:
			'When the lookup was made (ISO 8601 or epoch ms). The default, this node\'s time, is later than the lookup by however long the items took to get here: if they wait (a Wait node, a slow batch), pass the lookup\'s own time, or keep the settle delay well above that wait.',
		displayOptions: { show },
	},
	numberProperty(
		'settleSeconds',
		DEFAULT_SETTLE_SECONDS,
		"Not found replays only when the lookup was made at least this long after the claim ended (its lease, or its failure): a write can land after its lease or its client's timeout, and a CRM's search finds a new record only after its index catches up. Set it above both.",
		{ show },
	),
];

/** Processed, Replayed, Left Open. */
export const outputCount = () => 3;

interface KeyRef {
	namespace: string;
	key: string;
	claimToken: string | null;
}

const textOf = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);

/** The key an item names: `_idempotency` (Guard, Trigger stuck claim) or `exception` (Router, Trigger). */
function keyOnJson(json: IDataObject | undefined): KeyRef | null {
	const meta = json?._idempotency as IDataObject | undefined;
	if (meta && typeof meta === 'object' && textOf(meta.namespace) && textOf(meta.key)) {
		return { namespace: meta.namespace as string, key: meta.key as string, claimToken: textOf(meta.claimToken) };
	}
	const exception = json?.exception as IDataObject | undefined;
	if (exception && typeof exception === 'object' && textOf(exception.namespace) && textOf(exception.key)) {
		return { namespace: exception.namespace as string, key: exception.key as string, claimToken: null };
	}
	return null;
}

/** Found as the expression gave it: true or false only. */
function foundOf(value: unknown, itemIndex: number): boolean {
	if (value === true || value === 'true') return true;
	if (value === false || value === 'false') return false;
	throw new InvalidInputError(
		`Item ${itemIndex}: Found is ${value === '' || value === undefined ? 'empty' : `"${String(value)}"`}, not true or false`,
		'Set Found to an expression of the lookup that gives true or false, e.g. {{ $json.results.length > 0 }}. Nothing was changed for this item.',
	);
}

/** Looked Up At as epoch ms: ISO 8601 text, epoch ms, or a date object. */
function timeOf(value: unknown, itemIndex: number): number {
	const raw = value as { toMillis?: () => number } | string | number | Date | null | undefined;
	const ms =
		typeof raw === 'number'
			? raw
			: raw instanceof Date
				? raw.getTime()
				: raw && typeof raw === 'object' && typeof raw.toMillis === 'function'
					? raw.toMillis()
					: typeof raw === 'string' && /^\d+$/.test(raw.trim())
						? Number(raw.trim())
						: typeof raw === 'string'
							? Date.parse(raw)
							: NaN;
	if (!Number.isFinite(ms)) {
		throw new InvalidInputError(
			`Item ${itemIndex}: Looked Up At is "${String(value)}", not a time`,
			'Give the time of the lookup as ISO 8601 (e.g. {{ $now.toISO() }}) or epoch milliseconds.',
		);
	}
	// A lookup cannot have been made later than now: a time ahead (a wrong time zone, a unit in
	// seconds read as ms the other way) would make any lookup count as late enough to replay.
	if (ms > Date.now() + MAX_CLOCK_AHEAD_MS) {
		throw new InvalidInputError(
			`Item ${itemIndex}: Looked Up At is ${new Date(ms).toISOString()}, later than now`,
			'Give the time the lookup was made, with its time zone (ISO 8601 with Z or an offset), or epoch milliseconds. Nothing was changed for this item.',
		);
	}
	// Up to MAX_CLOCK_AHEAD_MS ahead is a clock difference, read as now: never later than now.
	return Math.min(ms, Date.now());
}

/**
 * Converts this process's clock to the store's. The claim's end is on the store's clock (leases
 * are measured there), Looked Up At on n8n's: a skew between them larger than the settle delay
 * would make a lookup made during the lease count as late enough to replay. Read once per
 * execution, halfway through the store's answer.
 */
function storeClockOffset(store: IdempotencyStore): () => Promise<number> {
	let offset: Promise<number> | null = null;
	return () => {
		offset ??= (async () => {
			const before = Date.now();
			const storeNow = await store.clock();
			return storeNow - (before + Date.now()) / 2;
		})();
		return offset;
	};
}

const REFUSAL_TEXT: Record<string, (record: KeyRecord | null, endedBy: number) => string> = {
	live_claim: (record) =>
		`The claim is still live${record?.leaseUntil ? ` until ${iso(record.leaseUntil)}` : ''}: its run may still be writing. Look it up again after the lease and the settle delay.`,
	claim_changed: (record) =>
		record?.state === 'processed'
			? 'The key was marked processed since the lookup: not found was the lookup lagging. Left as it is.'
			: `The key no longer carries the claim that was looked up (it is ${record?.state ?? 'gone'}${record?.state === 'processing' ? ', claimed again since: that run may be writing' : ''}). Left as it is; look it up again later.`,
	lookup_too_early: (record, endedBy) =>
		`The lookup was made before the claim ended plus the settle delay (the claim ended at ${iso(Math.max(record?.leaseUntil ?? 0, record?.updatedAt ?? 0))}, the lookup counts for claims ended by ${iso(endedBy)}): the write may still land or not be searchable yet. Look it up again later.`,
};

function presented(result: ResolveExceptionResult): IDataObject {
	return {
		record: result.record ? presentRecord(result.record) : null,
		resolved: result.exceptions.map((e) => presentException(e, null)),
	};
}

export async function execute(this: IExecuteFunctions, store: IdempotencyStore): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const outputs: INodeExecutionData[][] = [[], [], []];
	const clockOffset = storeClockOffset(store);
	const actor = actorOf(this);
	const explicit = this.getNodeParameter('keySource', 0, 'metadata') === 'explicit';
	const upstream = explicit ? [] : upstreamOfTypes(this, KEYED_NODES);
	const resolvedBy = `Reconcile (${this.getNode().name})`;
	for (let i = 0; i < items.length; i++) {
		const pairedItem = { item: i };
		try {
			let ref: KeyRef | null;
			if (explicit) {
				ref = {
					namespace: validateNamespace(this.getNodeParameter('namespace', i)),
					key: storedKeyAsWritten(this.getNodeParameter('key', i, ''), ['Key is empty', 'Enter the key as the Guard stored it (its _idempotency.key).']),
					claimToken: textOf(String(this.getNodeParameter('claimToken', i, '') ?? '').trim()),
				};
			} else {
				ref = findOnLineage(this, i, upstream, (json) => keyOnJson(json));
				if (!ref) {
					throw new InvalidInputError(
						'The item names no key: neither it nor the item it came from carries _idempotency or exception',
						'Connect Reconcile after the lookup of an Idempotency Trigger or Exception Router item (keep Include Input Fields or the lineage), or set Key Source to Explicit.',
					);
				}
				ref = { ...ref, namespace: validateNamespace(ref.namespace) };
			}
			const found = foundOf(this.getNodeParameter('found', i, ''), i);
			const base = { namespace: ref.namespace, key: ref.key };
			if (found) {
				const result = await store.resolveException(
					{
						id: null,
						...base,
						resolution: 'reconciled',
						resolvedBy,
						resolvedVia: 'reconcile',
						note: 'found in the target system',
						resultJson: resultJsonOf(this.getNodeParameter('result', i, null), i),
						actOnKey: true,
					},
					actor,
				);
				outputs[0].push({ json: { reconcile: { ...base, found: true, outcome: 'processed', ...presented(result) } }, pairedItem });
				continue;
			}
			const lookedUpAt = timeOf(this.getNodeParameter('lookedUpAt', i, Date.now()), i);
			const settleMs = boundedNumber('settleSeconds', this.getNodeParameter('settleSeconds', i, DEFAULT_SETTLE_SECONDS), DEFAULT_SETTLE_SECONDS, i) * 1000;
			// On the store's clock, as the claim's end it is compared with.
			const endedBy = lookedUpAt + (await clockOffset()) - settleMs;
			const result = await store.resolveException(
				{
					id: null,
					...base,
					resolution: 'replay',
					resolvedBy,
					resolvedVia: 'reconcile',
					note: `not found in the target system at ${iso(lookedUpAt)}`,
					resultJson: null,
					claimToken: ref.claimToken,
					endedBy,
					actOnKey: true,
				},
				actor,
			);
			if (result.refused) {
				const reason = REFUSAL_TEXT[result.refused](result.record, endedBy);
				outputs[2].push({
					json: { reconcile: { ...base, found: false, outcome: 'left_open', refused: result.refused, reason, lookedUpAt: iso(lookedUpAt), ...presented(result) } },
					pairedItem,
				});
				continue;
			}
			outputs[1].push({ json: { reconcile: { ...base, found: false, outcome: 'replayed', lookedUpAt: iso(lookedUpAt), ...presented(result) } }, pairedItem });
		} catch (error) {
			const problem = itemError(this, error, i);
			if (!this.continueOnFail()) throw problem;
			outputs[2].push(errorItem(items, i, problem));
		}
	}
	return outputs;
}
