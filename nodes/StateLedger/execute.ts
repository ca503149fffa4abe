// The State Ledger's execute(): transitions are applied per namespace in one round trip for the
// whole input and routed to Applied / Rejected; reads (get, history, list, stats, purge) answer
// one request per input item.

import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { groupBy } from '../shared/engine/batch';
import { boundedNumber } from '../shared/engine/bounds';
import { storedKeyOf } from '../shared/engine/keys';
import { actorOf, iso } from '../shared/n8n/actor';
import { itemError, nodeError } from '../shared/n8n/errors';
import { findMetadata, upstreamGuards } from '../shared/n8n/metadata';
import { ParameterReader } from '../shared/n8n/parameters';
import { withStore } from '../shared/n8n/resolveStore';
import { InvalidInputError } from '../shared/store/errors';
import { validateNamespace } from '../shared/store/identifiers';
import {
	MAX_RESULT_BYTES,
	RecordState,
	type HistoryEntry,
	type IdempotencyStore,
	type KeyRecord,
	type TransitionKind,
	type TransitionRequest,
} from '../shared/store/types';
import { TRANSITIONS } from './description';

const DAY_MS = 86_400_000;
const DEFAULT_RETENTION_MS = 30 * DAY_MS;

export interface KeyRef {
	namespace: string;
	key: string;
	claimToken: string | null;
}

/** The record as the Ledger shows it: ISO times, no claim token (it is a capability). */
export function presentRecord(record: KeyRecord): IDataObject {
	return {
		namespace: record.namespace,
		key: record.key,
		state: record.state,
		attempt: record.attempt,
		result: (record.result ?? null) as IDataObject,
		lastError: record.lastError,
		firstSeenAt: iso(record.firstSeenAt),
		lastSeenAt: iso(record.lastSeenAt),
		updatedAt: iso(record.updatedAt),
		leaseUntil: iso(record.leaseUntil),
		expiresAt: iso(record.expiresAt),
		duplicateCount: record.duplicateCount,
		workflowId: record.workflowId,
		executionId: record.executionId,
	};
}

export function presentHistory(entry: HistoryEntry): IDataObject {
	const out: IDataObject = {
		at: iso(entry.at),
		event: entry.event,
		reason: entry.reason,
		workflowId: entry.workflowId,
		executionId: entry.executionId,
		node: entry.node,
	};
	if (entry.detail) out.detail = entry.detail as IDataObject;
	return out;
}

const INVALID = Symbol('invalid JSON');

function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return INVALID;
	}
}

/** Serialises a result for storage: JSON text of at most 64 KB. */
export function resultJsonOf(value: unknown, itemIndex: number): string | null {
	if (value === undefined || value === null || value === '') return null;
	let parsed: unknown = value;
	if (typeof value === 'string') {
		parsed = parseJson(value);
		if (parsed === INVALID) {
			throw new InvalidInputError(
				`Item ${itemIndex}: Result is not valid JSON`,
				'Enter JSON, e.g. {"contactId": "123"}, or an expression such as {{ { contactId: $json.id } }}.',
			);
		}
	}
	const text = JSON.stringify(parsed);
	if (text === undefined) return null;
	const bytes = Buffer.byteLength(text, 'utf8');
	if (bytes > MAX_RESULT_BYTES) {
		throw new InvalidInputError(
			`Item ${itemIndex}: Result is ${bytes} bytes; at most ${MAX_RESULT_BYTES} (64 KB) can be stored`,
			'Store only what a duplicate needs to answer (an ID, a status), not the whole response.',
		);
	}
	return text;
}

function errorMessageOf(ctx: IExecuteFunctions, parameters: ParameterReader, itemIndex: number): string | null {
	const given = String(parameters.get('errorMessage', itemIndex, '') ?? '').trim();
	if (given) return given.slice(0, 4000);
	const error = ctx.getInputData()[itemIndex]?.json?.error;
	if (!error) return null;
	if (typeof error === 'string') return error.slice(0, 4000);
	const message = (error as IDataObject).message;
	return (typeof message === 'string' ? message : JSON.stringify(error)).slice(0, 4000);
}

export class KeyResolver {
	private readonly guards: string[];
	private readonly source: 'metadata' | 'explicit';
	private readonly parameters: ParameterReader;

	constructor(private readonly ctx: IExecuteFunctions) {
		this.parameters = new ParameterReader(ctx);
		this.source = ctx.getNodeParameter('keySource', 0, 'metadata') as 'metadata' | 'explicit';
		this.guards = this.source === 'metadata' ? upstreamGuards(ctx) : [];
	}

	resolve(itemIndex: number): KeyRef {
		if (this.source === 'explicit') {
			const namespace = validateNamespace(this.parameters.get('namespace', itemIndex));
			// As written: " abc" is not "abc" (storedKeyOf only hashes what the Guard would have).
			const written = String(this.parameters.get('key', itemIndex, '') ?? '');
			if (written.length === 0) {
				throw new InvalidInputError(`Item ${itemIndex}: Key is empty`, 'Enter the key exactly as the Guard stored it (its _idempotency.key).');
			}
			const key = storedKeyOf(written);
			const token = String(this.parameters.get('claimToken', itemIndex, '') ?? '').trim();
			return { namespace, key, claimToken: token || null };
		}
		const found = findMetadata(this.ctx, itemIndex, this.guards);
		if (!found) {
			throw new InvalidInputError(
				`Item ${itemIndex} has no idempotency metadata: it carries no _idempotency and no upstream Idempotency Guard is on its lineage`,
				'Place this node after an Idempotency Guard (directly or behind the write it guards), or set Key Source to Explicit.',
			);
		}
		if (found.key === null) {
			throw new InvalidInputError(
				`Item ${itemIndex} has no business key (the Guard routed it as ${found.reason ?? 'missing_key'})`,
				'Only items the Guard claimed can be marked; send keyless items to the Exception Router instead.',
			);
		}
		return { namespace: validateNamespace(found.namespace), key: found.key, claimToken: found.claimToken };
	}
}


async function transitions(
	ctx: IExecuteFunctions,
	store: IdempotencyStore,
	kind: TransitionKind,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const applied: INodeExecutionData[] = [];
	const rejected: INodeExecutionData[] = [];
	const resolver = new KeyResolver(ctx);
	const parameters = new ParameterReader(ctx, items);
	const options = ctx.getNodeParameter('options', 0, {}) as { verifyClaim?: boolean; force?: boolean };
	const verifyClaim = options.verifyClaim !== false;
	const force = options.force === true;

	const planned: Array<{ index: number; namespace: string; request: TransitionRequest }> = [];
	const failed: Array<{ index: number; error: NodeOperationError }> = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const ref = resolver.resolve(i);
			const request: TransitionRequest = {
				kind,
				key: ref.key,
				claimToken: ref.claimToken,
				verifyClaim,
				force,
				retentionMs: DEFAULT_RETENTION_MS,
				resultJson: kind === 'markProcessed' ? resultJsonOf(parameters.get('result', i, null), i) : null,
				errorMessage: kind === 'markFailed' ? errorMessageOf(ctx, parameters, i) : null,
			};
			planned.push({ index: i, namespace: ref.namespace, request });
		} catch (error) {
			const problem = itemError(ctx, error, i);
			if (!ctx.continueOnFail()) throw problem;
			failed.push({ index: i, error: problem });
		}
	}

	const outcome = new Map<number, INodeExecutionData>();
	const actor = actorOf(ctx);
	for (const [namespace, list] of groupBy(planned, (entry) => entry.namespace)) {
		let results;
		try {
			results = await store.transition(namespace, list.map((entry) => entry.request), actor);
		} catch (error) {
			if (!ctx.continueOnFail()) throw nodeError(ctx, error, 'The State Ledger failed');
			for (const entry of list) {
				const message = `The State Ledger failed: ${(error as Error).message}`;
				outcome.set(entry.index, { json: { ...items[entry.index].json, error: message }, pairedItem: { item: entry.index } });
			}
			continue;
		}
		list.forEach((entry, n) => {
			const result = results[n];
			const ledger: IDataObject = {
				operation: kind,
				namespace,
				key: entry.request.key,
				applied: result.applied,
				noop: result.noop,
				reason: result.rejectReason,
				state: result.record?.state ?? null,
				attempt: result.record?.attempt ?? null,
				updatedAt: iso(result.record?.updatedAt),
			};
			const json: IDataObject = { ...items[entry.index].json, ledger };
			// The Guard's metadata on the item said `processing`; after an applied transition it
			// says what the key is now, so a later node reading _idempotency.state is not misled.
			const guardMeta = json._idempotency;
			if (result.applied && guardMeta && typeof guardMeta === 'object' && !Array.isArray(guardMeta)) {
				json._idempotency = { ...(guardMeta as IDataObject), state: result.record?.state ?? null };
			}
			const out: INodeExecutionData = { json, pairedItem: { item: entry.index } };
			if (items[entry.index].binary) out.binary = items[entry.index].binary;
			outcome.set(entry.index, out);
		});
	}
	for (const { index, error } of failed) {
		outcome.set(index, { json: { ...items[index].json, error: error.message }, pairedItem: { item: index } });
	}
	for (let i = 0; i < items.length; i++) {
		const out = outcome.get(i);
		if (!out) continue;
		const ok = (out.json.ledger as IDataObject | undefined)?.applied === true;
		(ok ? applied : rejected).push(out);
	}
	return [applied, rejected];
}

async function reads(ctx: IExecuteFunctions, store: IdempotencyStore, operation: string): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const out: INodeExecutionData[] = [];
	const resolver = operation === 'get' || operation === 'history' ? new KeyResolver(ctx) : null;
	for (let i = 0; i < items.length; i++) {
		const pairedItem = { item: i };
		try {
			if (resolver) {
				const ref = resolver.resolve(i);
				const [record, history] = await Promise.all([store.get(ref.namespace, ref.key), store.history(ref.namespace, ref.key)]);
				if (operation === 'get') {
					const base = record
						? presentRecord(record)
						: { namespace: ref.namespace, key: ref.key, state: null, attempt: 0, result: null, lastError: null, firstSeenAt: null, lastSeenAt: null, updatedAt: null, leaseUntil: null, expiresAt: null, duplicateCount: 0, workflowId: null, executionId: null };
					out.push({ json: { ...base, history: history.map(presentHistory) }, pairedItem });
				} else {
					for (const entry of history) out.push({ json: { namespace: ref.namespace, key: ref.key, ...presentHistory(entry) }, pairedItem });
				}
				continue;
			}
			const namespace = validateNamespace(ctx.getNodeParameter('namespace', i));
			if (operation === 'list') {
				const state = String(ctx.getNodeParameter('state', i, '') ?? '');
				if (state && !(state in RecordState)) {
					throw new InvalidInputError(`State "${state}" is not one of received, processing, processed, failed`);
				}
				const olderThanMinutes = boundedNumber('olderThanMinutes', ctx.getNodeParameter('olderThanMinutes', i, 0), 0, i);
				const limit = boundedNumber('limit', ctx.getNodeParameter('limit', i, 100), 100, i);
				const page = await store.list(namespace, {
					state: (state || null) as RecordState | null,
					stuckOnly: ctx.getNodeParameter('stuckOnly', i, false) === true,
					olderThanMs: olderThanMinutes > 0 ? olderThanMinutes * 60_000 : null,
					limit,
					cursor: String(ctx.getNodeParameter('cursor', i, '') ?? '') || null,
				});
				for (const record of page.records) out.push({ json: { ...presentRecord(record), nextCursor: page.nextCursor }, pairedItem });
			} else if (operation === 'stats') {
				const hours = boundedNumber('sinceHours', ctx.getNodeParameter('sinceHours', i, 24), 24, i);
				const stats = await store.stats(namespace, hours * 3_600_000);
				out.push({ json: { ...stats, since: iso(stats.since), until: iso(stats.until), sinceHours: hours } as unknown as IDataObject, pairedItem });
			} else if (operation === 'purge') {
				const purged = await store.purge(namespace);
				out.push({ json: { namespace, purgedRecords: purged.records, purgedHistory: purged.history }, pairedItem });
			} else {
				throw new InvalidInputError(`Unknown operation "${operation}"`);
			}
		} catch (error) {
			const problem = itemError(ctx, error, i);
			if (!ctx.continueOnFail()) throw problem;
			out.push({ json: { ...items[i].json, error: problem.message }, pairedItem });
		}
	}
	return [out];
}

export async function executeLedger(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0, 'markProcessed') as string;
	const items = this.getInputData();
	const isTransition = (TRANSITIONS as readonly string[]).includes(operation);
	if (items.length === 0) return isTransition ? [[], []] : [[]];
	return withStore(this, 'The State Ledger failed', (store) =>
		isTransition ? transitions(this, store, operation as TransitionKind) : reads(this, store, operation),
	);
}
