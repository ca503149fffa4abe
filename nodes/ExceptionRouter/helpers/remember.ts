// Remembers the routed exceptions (one round trip per namespace; the store de-duplicates an open
// exception by its group) and tells which items opened theirs — so a Slack message per exception
// is an IF on exception.opened. Without Persist, an item stands for an exception of its own.

import { groupBy } from '../../shared/util/lists';
import { exceptionPair } from '../../shared/store/exceptions';
import type { Actor, ExceptionGrouping, ExceptionRecord, IdempotencyStore, OpenExceptionRequest } from '../../shared/store/types';

/** An item the Router routed: its key and reason, and what the matching rule gave it (owner, severity, route). */
export interface Routed extends Omit<OpenExceptionRequest, 'groupBy'> {
	index: number;
	namespace: string;
	output: number;
	attempt: number | null;
	/** The Guard found the key held by a test run (its _idempotency.heldBy): the Slack text says so. */
	heldByTestRun?: boolean;
}

export interface Remembered {
	/** The stored exception of each persisted item, by input index. */
	stored: Map<number, ExceptionRecord>;
	/** The items whose routing opened their exception (all its occurrences are this call's). */
	opened: Set<number>;
}

export async function rememberExceptions(
	store: IdempotencyStore,
	routed: readonly Routed[],
	grouping: ExceptionGrouping,
	actor: Actor,
): Promise<Remembered> {
	const stored = new Map<number, ExceptionRecord>();
	const opened = new Set<number>();
	for (const [namespace, list] of groupBy(routed, (r) => r.namespace)) {
		const requests: OpenExceptionRequest[] = list.map((r) => ({ key: r.key, reason: r.reason, owner: r.owner, severity: r.severity, route: r.route, groupBy: grouping }));
		const records = await store.recordExceptions(namespace, requests, actor);
		const inThisCall = new Map<string, number>();
		for (const request of requests) inThisCall.set(exceptionPair(request), (inThisCall.get(exceptionPair(request)) ?? 0) + 1);
		list.forEach((r, n) => {
			stored.set(r.index, records[n]);
			const pair = exceptionPair(requests[n]);
			// The first item of the pair stands for the opening; its repeats in this call do not.
			if (records[n].occurrences === inThisCall.get(pair)) opened.add(r.index);
			inThisCall.set(pair, -1);
		});
	}
	return { stored, opened };
}

/** The exception an item shows when it was not persisted: open, once, now. */
export function unsavedException(r: Routed, grouping: ExceptionGrouping, actor: Actor, now: number): ExceptionRecord {
	return {
		id: '',
		namespace: r.namespace,
		key: r.key,
		reason: r.reason,
		owner: r.owner,
		severity: r.severity,
		route: r.route,
		status: 'open',
		reasons: [r.reason],
		groupBy: grouping,
		occurrences: 1,
		firstSeenAt: now,
		lastSeenAt: now,
		workflowId: actor.workflowId,
		executionId: actor.executionId,
		resolution: null,
		resolvedBy: null,
		resolvedVia: null,
		resolvedAt: null,
		note: null,
	};
}
