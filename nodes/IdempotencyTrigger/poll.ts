// The Idempotency Trigger's poll(): reads the store's two feeds — claims whose lease ran out,
// exceptions opened or seen again — from where the last poll stopped, to a horizon a few seconds
// behind the store's clock, and keeps its position in the workflow's static data.
//
// Why this hands out each event once: a feed is ordered by a time that only grows for an event
// (a lease end; an exception's lastSeenAt) with a tie-breaker, and the position is exactly "every
// event up to here". The horizon trails the store's clock by SETTLE_MS so that a Postgres statement
// that took its timestamp before the poll but committed after it is still ahead of the position.
// A window polled again (after a restart, see README "Idempotency Trigger") finds only what it
// found the first time. Times are the store's (epoch ms), never n8n's.

import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { iso } from '../shared/n8n/actor';
import { nodeError, operationError } from '../shared/n8n/errors';
import { exceptionFields, executionUrlOf } from '../shared/n8n/exceptionItem';
import { storeOfKind, type StoreKind } from '../shared/n8n/resolveStore';
import { isAfter } from '../shared/store/feedOrder';
import { validateNamespace } from '../shared/store/identifiers';
import { MAX_LIMIT, type ExceptionRecord, type FeedPosition, type IdempotencyStore, type KeyRecord } from '../shared/store/types';
import { EVENTS, type EventKind } from './description';

/** How far the horizon trails the store's clock: longer than any claim or exception write commits. */
export const SETTLE_MS = 5_000;
/** Events per feed per poll, the most a feed query returns; the rest come in the next poll, in order. */
export const PAGE_SIZE = MAX_LIMIT;
const TEST_WINDOW_MS = 24 * 3_600_000;
const TEST_EVENTS = 10;

/** What the trigger keeps in the workflow's static data (node scope). */
export interface TriggerCursor {
	version: 1;
	stuckClaims: FeedPosition;
	exceptions: FeedPosition;
}

function isPosition(value: unknown): value is FeedPosition {
	const p = value as FeedPosition;
	return (
		typeof p === 'object' &&
		p !== null &&
		Number.isFinite(p.at) &&
		(p.after === null || (Array.isArray(p.after) && p.after.every((part) => typeof part === 'string')))
	);
}

function readCursor(value: unknown): TriggerCursor | null {
	const c = value as TriggerCursor;
	if (!c || c.version !== 1 || !isPosition(c.stuckClaims) || !isPosition(c.exceptions)) return null;
	return c;
}

function stuckClaimItem(ctx: IPollFunctions, record: KeyRecord): INodeExecutionData {
	return {
		json: {
			event: 'stuckClaim',
			eventId: `stuckClaim:${encodeURIComponent(record.namespace)}:${encodeURIComponent(record.key)}:${record.leaseUntil}`,
			// What the Guard says about this key now: ambiguous, lease_expired.
			_idempotency: {
				namespace: record.namespace,
				key: record.key,
				outcome: 'ambiguous',
				reason: 'lease_expired',
				state: record.state,
				attempt: record.attempt,
				claimToken: null,
				firstSeenAt: iso(record.firstSeenAt),
				lastSeenAt: iso(record.lastSeenAt),
				leaseUntil: iso(record.leaseUntil),
				result: null,
			},
			claimedBy: {
				workflowId: record.workflowId,
				executionId: record.executionId,
				executionUrl: executionUrlOf(ctx, record.workflowId, record.executionId),
			},
		},
	};
}

function exceptionItem(ctx: IPollFunctions, exception: ExceptionRecord, from: FeedPosition, buttons: boolean): INodeExecutionData {
	const fields = exceptionFields(exception, {
		attempt: null,
		executionUrl: executionUrlOf(ctx, exception.workflowId, exception.executionId),
		buttons,
	});
	// Opened since the last poll: its first occurrence is after the position this poll read from.
	(fields.exception as IDataObject).opened = isAfter(from, exception.firstSeenAt, [exception.id]);
	return { json: { event: 'exception', eventId: `exception:${exception.id}:${exception.lastSeenAt}`, ...fields } };
}

interface Settings {
	kind: StoreKind;
	namespace: string | null;
	events: EventKind[];
	/** The Resolve from Slack buttons on the exceptions' messages. */
	slackButtons: boolean;
}

function settingsOf(ctx: IPollFunctions): Settings {
	const node = ctx.getNode();
	const events = (ctx.getNodeParameter('events', []) as string[]) ?? [];
	if (!Array.isArray(events) || events.length === 0 || events.some((e) => !EVENTS.includes(e as EventKind))) {
		throw operationError(node, `Events must be one or both of Stuck Claims and Exceptions, got ${JSON.stringify(events)}`, {
			hint: 'Pick at least one event under Events.',
		});
	}
	const text = String(ctx.getNodeParameter('namespace', '') ?? '').trim();
	let namespace: string | null = null;
	if (text) {
		try {
			namespace = validateNamespace(text);
		} catch (error) {
			throw nodeError(ctx, error, 'Namespace', "Use the Guard's namespace, or leave it empty for every namespace.");
		}
	}
	const options = (ctx.getNodeParameter('options', {}) ?? {}) as { slackButtons?: boolean };
	return { kind: ctx.getNodeParameter('store', 'postgres') as StoreKind, namespace, events: events as EventKind[], slackButtons: options.slackButtons === true };
}

/** The feeds' next positions and the events between; a feed that is off moves along empty. */
async function readFeeds(
	ctx: IPollFunctions,
	store: IdempotencyStore,
	settings: Settings,
	cursor: TriggerCursor,
	horizon: number,
	limit: number,
): Promise<{ items: INodeExecutionData[]; next: TriggerCursor }> {
	const items: INodeExecutionData[] = [];
	const next: TriggerCursor = { ...cursor };
	for (const kind of EVENTS) {
		const from = cursor[kind];
		// Never back: a store clock that stepped back must not hand out a window again.
		const until = Math.max(horizon, from.at);
		if (!settings.events.includes(kind)) {
			next[kind] = until === from.at ? from : { at: until, after: null };
			continue;
		}
		const query = { namespace: settings.namespace, from, until, limit };
		if (kind === 'stuckClaims') {
			const page = await store.stuckClaims(query);
			items.push(...page.events.map((record) => stuckClaimItem(ctx, record)));
			next.stuckClaims = page.next;
		} else {
			const page = await store.exceptionsSeen(query);
			items.push(...page.events.map((exception) => exceptionItem(ctx, exception, from, settings.slackButtons)));
			next.exceptions = page.next;
		}
	}
	return { items, next };
}

export async function pollTrigger(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	const settings = settingsOf(this);
	let store: IdempotencyStore;
	try {
		store = await storeOfKind(this, settings.kind);
	} catch (error) {
		throw nodeError(this, error, 'The store is not set up', 'Check the credential of the store.');
	}
	try {
		const now = await store.clock();
		if (this.getMode() === 'manual') {
			// "Fetch Test Event": the latest events of the last day; the position stays where it is.
			const from = { at: now - TEST_WINDOW_MS, after: null };
			const { items } = await readFeeds(this, store, settings, { version: 1, stuckClaims: from, exceptions: from }, now, PAGE_SIZE);
			return items.length ? [items.slice(-TEST_EVENTS)] : null;
		}
		const staticData = this.getWorkflowStaticData('node') as IDataObject;
		const horizon = now - SETTLE_MS;
		const cursor = readCursor(staticData.cursor);
		if (cursor === null) {
			// First poll after activation: start from now, not from the whole past.
			const start: FeedPosition = { at: horizon, after: null };
			staticData.cursor = { version: 1, stuckClaims: start, exceptions: start } satisfies TriggerCursor as unknown as IDataObject;
			return null;
		}
		const { items, next } = await readFeeds(this, store, settings, cursor, horizon, PAGE_SIZE);
		staticData.cursor = next as unknown as IDataObject;
		return items.length ? [items] : null;
	} catch (error) {
		throw nodeError(
			this,
			error,
			'The Idempotency Trigger could not read the store',
			'Check that the store is reachable with this credential.',
			'The next poll starts where the last good one stopped.',
		);
	}
}
