// How a key's record and history look on an item (the Ledger's reads, the Router's resolve), and
// how a Result parameter becomes the JSON the store keeps for later duplicates.

import type { IDataObject } from 'n8n-workflow';
import { InvalidInputError } from '../store/errors';
import { MAX_RESULT_BYTES, type HistoryEntry, type KeyRecord } from '../store/types';
import { iso } from './actor';

/** The record as the nodes show it: ISO times, no claim token (it is a capability). */
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

/** What Get shows for a key the store has no record of: `state: null`, not an error. */
export function presentUnknownRecord(namespace: string, key: string): IDataObject {
	return {
		namespace,
		key,
		state: null,
		attempt: 0,
		result: null,
		lastError: null,
		firstSeenAt: null,
		lastSeenAt: null,
		updatedAt: null,
		leaseUntil: null,
		expiresAt: null,
		duplicateCount: 0,
		workflowId: null,
		executionId: null,
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
	// A run of consecutive duplicates is one event (docs/CONTRACT.md §12): first and last time, count.
	if (entry.count !== undefined) {
		out.lastAt = iso(entry.lastAt ?? entry.at);
		out.count = entry.count;
	}
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

/** Serialises a result for storage: JSON text of at most 64 KB, or null when there is none. */
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
