// What every store does with a list of exceptions to record (docs/CONTRACT.md §7, §12): one entry per
// (key, reason) — or per key when the Router groups by key —, repeats inside the list counted as
// occurrences of it, the reasons of a key's incident kept in the order they came.

import type { ExceptionGrouping, ExceptionRecord, OpenExceptionRequest } from './types';

export interface DistinctException {
	request: OpenExceptionRequest;
	occurrences: number;
	/** Every reason of this entry, first seen first: `[reason]` unless grouped by key. */
	reasons: string[];
}

export function groupingOf(value: { groupBy?: ExceptionGrouping }): ExceptionGrouping {
	return value.groupBy === 'key' ? 'key' : 'keyAndReason';
}

/** What makes two exceptions one while open: (key, reason), or the key alone for an incident. */
export function exceptionPair(value: { key: string; reason: string; groupBy?: ExceptionGrouping }): string {
	return groupingOf(value) === 'key' ? JSON.stringify([value.key]) : JSON.stringify([value.key, value.reason]);
}

export function distinctExceptions(requests: readonly OpenExceptionRequest[]): DistinctException[] {
	const distinct = new Map<string, DistinctException>();
	for (const request of requests) {
		const pair = exceptionPair(request);
		const entry = distinct.get(pair);
		if (!entry) {
			distinct.set(pair, { request, occurrences: 1, reasons: [request.reason] });
			continue;
		}
		entry.occurrences++;
		if (!entry.reasons.includes(request.reason)) entry.reasons.push(request.reason);
	}
	return [...distinct.values()];
}

/** The recorded exceptions in the order of the requests (repeats get the same exception). */
export function inRequestOrder(requests: readonly OpenExceptionRequest[], recorded: readonly ExceptionRecord[]): ExceptionRecord[] {
	const byPair = new Map(recorded.map((exception) => [exceptionPair(exception), exception]));
	return requests.map((request) => byPair.get(exceptionPair(request))!);
}
