// What every store does with a list of exceptions to record (SPEC §7): one entry per
// (key, reason), repeats inside the list counted as occurrences of it.

import type { ExceptionRecord, OpenExceptionRequest } from './types';

export interface DistinctException {
	request: OpenExceptionRequest;
	occurrences: number;
}

export function exceptionPair(value: { key: string; reason: string }): string {
	return JSON.stringify([value.key, value.reason]);
}

export function distinctExceptions(requests: readonly OpenExceptionRequest[]): DistinctException[] {
	const distinct = new Map<string, DistinctException>();
	for (const request of requests) {
		const pair = exceptionPair(request);
		const entry = distinct.get(pair);
		if (entry) entry.occurrences++;
		else distinct.set(pair, { request, occurrences: 1 });
	}
	return [...distinct.values()];
}

/** The recorded exceptions in the order of the requests (repeats get the same exception). */
export function inRequestOrder(requests: readonly OpenExceptionRequest[], recorded: readonly ExceptionRecord[]): ExceptionRecord[] {
	const byPair = new Map(recorded.map((exception) => [exceptionPair(exception), exception]));
	return requests.map((request) => byPair.get(exceptionPair(request))!);
}
