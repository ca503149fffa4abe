// The policy every store shares, written once: each public method of IdempotencyStore checks its
// input (checks.ts), applies the limits, chunks lists into round trips of at most MAX_CHUNK,
// decides which clock counts, de-duplicates exceptions, assembles stats, cursors and feed pages,
// and wraps every failure the same way — then calls one of the protected primitives below, which
// are all a backend implements. A primitive gets clean input only: names checked, numbers whole,
// lists within MAX_CHUNK.
//
// The clock: `now` (tests) when given; else writes leave it to the backend's atomic statement or
// script (null), which reads the server's clock, and reads take the server's time first
// (serverTime), so that workers with skewed clocks agree on leases and windows.

import { IdempotencyError, InvalidInputError } from '../errors';
import { distinctExceptions, groupingOf, inRequestOrder, type DistinctException } from '../exceptions';
import { StatsBuilder, type StatsCounter } from '../stats';
import { buildReport, MAX_REPORT_MS, reportHours, type ReportTally } from '../report';
import {
	EXCEPTION_GROUPINGS,
	MAX_CHUNK,
	type Actor,
	type ClaimDecision,
	type ClaimPolicy,
	type ClaimRequest,
	type ExceptionGrouping,
	type ExceptionQuery,
	type ExceptionRecord,
	type FeedPage,
	type FeedPosition,
	type FeedQuery,
	type HistoryEntry,
	type IdempotencyStore,
	type KeyRecord,
	type ListPage,
	type ListQuery,
	type NamespaceStats,
	type NamespaceReport,
	type ReportRequest,
	REPORT_BUCKETS,
	type OpenExceptionRequest,
	type PurgeResult,
	type RecordState,
	type ResolveExceptionRequest,
	type ResolveExceptionResult,
	type RestoreRequest,
	type StoreHealth,
	type StoreKind,
	type DurabilityReport,
	type TransitionRequest,
	type TransitionResult,
} from '../types';
import {
	checkActor,
	checkExceptionRequest,
	checkName,
	checkNow,
	checkPolicy,
	checkResolution,
	checkResolvedVia,
	checkResultJson,
	checkState,
	checkTransitionKind,
	clampLimit,
	MAX_DURATION_MS,
	repeatCount,
	requireNumber,
	textOrNull,
} from './checks';
import { decodeCursor, encodeCursor, type ListPosition } from './cursor';
import { chunk } from '../../util/lists';

/** One page of an index, as list asks a backend for it. */
export interface IndexQuery {
	/** `key`: every record in key order; `state`: records in `state` by updatedAt; `stuck`: processing records whose lease ended by `at`, by leaseUntil. */
	order: 'key' | 'state' | 'stuck';
	state: RecordState | null;
	/** The time every filter compares with (the store's clock unless a test gave one). */
	at: number;
	/** Only records last updated at or before this time; null = any. Records past retention never. */
	updatedBefore: number | null;
	/** Start after this position (the previous page's cursor). */
	after: ListPosition | null;
	limit: number;
}

export interface IndexPage {
	/** At most `limit` records. */
	records: KeyRecord[];
	/** Where the next page starts; null when the index has no more. */
	next: ListPosition | null;
}

/** History events counted in a window, by the stats counter they add to. */
export interface EventTally {
	counts: Array<{ counter: StatsCounter; count: number; reason: string | null }>;
	openExceptions: number;
}

export interface OpenExceptionsQuery {
	/** null = every namespace. */
	namespace: string | null;
	owner: string | null;
	reason: string | null;
	/** Only exceptions first seen at or before this time; null = any. */
	firstSeenBefore: number | null;
	limit: number;
}

const NOTHING_RESOLVED: ResolveExceptionResult = { exceptions: [], record: null };

export abstract class BaseStore implements IdempotencyStore {
	abstract readonly kind: StoreKind;

	// --- the primitives -------------------------------------------------------------------------

	/** Decides ≤ MAX_CHUNK claims of distinct keys in one atomic statement or script. */
	protected abstract claimChunk(namespace: string, requests: ClaimRequest[], policy: ClaimPolicy, actor: Actor, now: number | null): Promise<ClaimDecision[]>;
	/** Applies ≤ MAX_CHUNK transitions in order, each atomically, in one round trip. */
	protected abstract transitionChunk(namespace: string, requests: TransitionRequest[], actor: Actor, now: number | null): Promise<TransitionResult[]>;
	/** Undoes ≤ MAX_CHUNK claims in one round trip (see IdempotencyStore.restore). */
	protected abstract restoreChunk(namespace: string, requests: RestoreRequest[], actor: Actor, now: number | null): Promise<boolean[]>;
	protected abstract readRecord(namespace: string, key: string): Promise<KeyRecord | null>;
	protected abstract readHistory(namespace: string, key: string): Promise<HistoryEntry[]>;
	protected abstract pageIndex(namespace: string, query: IndexQuery): Promise<IndexPage>;
	/**
	 * Counts the namespace's events by the hour: every hour from the one holding `since` to the one
	 * holding `until` (docs/CONTRACT.md §12 "Stats by the hour"), and its open exceptions.
	 */
	protected abstract countEvents(namespace: string, since: number, until: number): Promise<EventTally>;
	/**
	 * Reads a report's figures (report.ts): the hourly counters of the hours from `firstHour` to
	 * `lastHour` (both hour starts, included), the exceptions resolved in them, the open ones now;
	 * `namespace` null = every namespace.
	 */
	protected abstract readReport(namespace: string | null, firstHour: number, lastHour: number): Promise<ReportTally>;
	/** Forgets records past retention at `at`, with their history. */
	protected abstract purgeExpired(namespace: string, at: number): Promise<PurgeResult>;
	/** Opens or counts ≤ MAX_CHUNK distinct exceptions of one grouping, in one round trip. */
	protected abstract recordExceptionChunk(
		namespace: string,
		grouping: ExceptionGrouping,
		entries: DistinctException[],
		actor: Actor,
		now: number | null,
	): Promise<ExceptionRecord[]>;
	/** Resolves atomically (see IdempotencyStore.resolveException); an id that names nothing resolves nothing. */
	protected abstract resolve(request: ResolveExceptionRequest, actor: Actor, now: number | null): Promise<ResolveExceptionResult>;
	protected abstract readException(id: string): Promise<ExceptionRecord | null>;
	/** Open exceptions matching the query, oldest first (firstSeenAt, id), at most `limit`. */
	protected abstract readOpenExceptions(query: OpenExceptionsQuery): Promise<ExceptionRecord[]>;
	/** The feed's stuck claims after `from`, in feed order: up to limit + 1 (the extra says "more"). */
	protected abstract readStuckClaims(query: FeedQuery): Promise<KeyRecord[]>;
	/** The feed's exceptions seen after `from`, in feed order: up to limit + 1. */
	protected abstract readExceptionsSeen(query: FeedQuery): Promise<ExceptionRecord[]>;
	/** The server's clock, epoch ms. */
	protected abstract serverTime(): Promise<number>;
	/** A failure of the backend as the error a user reads (StoreUnavailableError, IdempotencyError). */
	protected abstract translateError(error: unknown, doing: string): Error;
	/** Runs before every call (migrations, reconnecting); its errors are already translated. */
	protected async prepare(): Promise<void> {}
	abstract health(): Promise<StoreHealth>;
	/** A backend that can read its server's settings overrides this; by default nothing is known to be at risk. */
	async durability(): Promise<DurabilityReport> {
		return { safe: true, findings: [], checkedAt: Date.now() };
	}
	abstract close(): Promise<void>;

	/** Every call to the backend goes through here: prepared, and its failure translated once. */
	protected async run<T>(doing: string, work: () => Promise<T>): Promise<T> {
		try {
			await this.prepare();
			return await work();
		} catch (error) {
			throw error instanceof IdempotencyError ? error : this.translateError(error, doing);
		}
	}

	// --- IdempotencyStore -------------------------------------------------------------------------

	async claim(namespace: string, requests: ClaimRequest[], policy: ClaimPolicy, actor: Actor, now?: number): Promise<ClaimDecision[]> {
		if (requests.length === 0) return [];
		// One chunk is one atomic round trip; splitting here would leave a half-claimed input behind
		// a failure. The caller chunks and undoes (claims.ts).
		if (requests.length > MAX_CHUNK) {
			throw new InvalidInputError(`A claim takes at most ${MAX_CHUNK} keys, got ${requests.length}`, `Claim the keys in chunks of ${MAX_CHUNK}.`);
		}
		checkName('namespace', namespace);
		checkPolicy(policy);
		const clean = requests.map((request) => ({
			key: checkName('key', request.key),
			fingerprint: textOrNull('fingerprint', request.fingerprint),
			repeats: {
				duplicates: repeatCount('repeats.duplicates', request.repeats?.duplicates),
				mismatches: repeatCount('repeats.mismatches', request.repeats?.mismatches),
			},
		}));
		const rounded = { ...policy, leaseMs: Math.round(policy.leaseMs), retentionMs: Math.round(policy.retentionMs) };
		const who = checkActor(actor);
		const at = checkNow(now);
		return this.run('claiming keys', () => this.claimChunk(namespace, clean, rounded, who, at));
	}

	async transition(namespace: string, requests: TransitionRequest[], actor: Actor, now?: number): Promise<TransitionResult[]> {
		if (requests.length === 0) return [];
		checkName('namespace', namespace);
		const clean = requests.map((request): TransitionRequest => {
			checkTransitionKind(request.kind);
			return {
				kind: request.kind,
				key: checkName('key', request.key),
				claimToken: textOrNull('claim token', request.claimToken),
				verifyClaim: request.verifyClaim === true,
				force: request.force === true,
				resultJson: checkResultJson(request.resultJson),
				errorMessage: textOrNull('error message', request.errorMessage),
				retentionMs: Math.round(requireNumber('retentionMs', request.retentionMs ?? 0, 0, MAX_DURATION_MS)),
			};
		});
		const who = checkActor(actor);
		const at = checkNow(now);
		return this.inChunks(clean, (chunk) => this.run('recording a transition', () => this.transitionChunk(namespace, chunk, who, at)));
	}

	async restore(namespace: string, requests: RestoreRequest[], actor: Actor, now?: number): Promise<boolean[]> {
		if (requests.length === 0) return [];
		checkName('namespace', namespace);
		const clean = requests.map((request): RestoreRequest => {
			if (request.prior !== null && (typeof request.prior !== 'object' || Array.isArray(request.prior))) {
				throw new InvalidInputError('The prior record of a restore must be the claim’s own image or null');
			}
			return { key: checkName('key', request.key), claimToken: textOrNull('claim token', request.claimToken) ?? '', prior: request.prior };
		});
		const who = checkActor(actor);
		const at = checkNow(now);
		return this.inChunks(clean, (chunk) => this.run('undoing claims', () => this.restoreChunk(namespace, chunk, who, at)));
	}

	async get(namespace: string, key: string): Promise<KeyRecord | null> {
		checkName('namespace', namespace);
		checkName('key', key);
		return this.run('reading a key', () => this.readRecord(namespace, key));
	}

	async history(namespace: string, key: string): Promise<HistoryEntry[]> {
		checkName('namespace', namespace);
		checkName('key', key);
		return this.run('reading history', () => this.readHistory(namespace, key));
	}

	/** Filters combine: stuck claims in another state than processing are none. */
	async list(namespace: string, query: ListQuery, now?: number): Promise<ListPage> {
		checkName('namespace', namespace);
		const limit = clampLimit(query.limit);
		const after = decodeCursor(query.cursor);
		const state = checkState(query.state);
		const olderThanMs = query.olderThanMs === null || query.olderThanMs === undefined ? null : requireNumber('olderThanMs', query.olderThanMs, 0);
		const given = checkNow(now);
		const stuck = Boolean(query.stuckOnly);
		if (stuck && state !== null && state !== 'processing') return { records: [], nextCursor: null };
		return this.run('listing keys', async () => {
			const at = given ?? (await this.serverTime());
			const order = stuck ? 'stuck' : state !== null ? 'state' : 'key';
			const updatedBefore = olderThanMs === null ? null : at - olderThanMs;
			const page = await this.pageIndex(namespace, { order, state, at, updatedBefore, after, limit });
			return { records: page.records, nextCursor: page.next ? encodeCursor(page.next) : null };
		});
	}

	/** The window [until - sinceMs, until] ends at the server's clock, the one every event was stamped with. */
	async stats(namespace: string, sinceMs: number, now?: number): Promise<NamespaceStats> {
		checkName('namespace', namespace);
		requireNumber('sinceMs', sinceMs, 0);
		const given = checkNow(now);
		return this.run('reading stats', async () => {
			const until = given ?? (await this.serverTime());
			const since = until - sinceMs;
			const tally = await this.countEvents(namespace, since, until);
			const builder = new StatsBuilder(namespace, since, until);
			for (const { counter, count, reason } of tally.counts) builder.add(counter, count, reason);
			builder.stats.openExceptions = tally.openExceptions;
			return builder.stats;
		});
	}

	/** Like stats, the window ends at the server's clock; BaseStore owns the buckets (report.ts). */
	async report(request: ReportRequest, now?: number): Promise<NamespaceReport> {
		const namespace = request.namespace === null || request.namespace === undefined ? null : checkName('namespace', request.namespace);
		const sinceMs = requireNumber('sinceMs', request.sinceMs, 0, MAX_REPORT_MS);
		if (!(REPORT_BUCKETS as readonly unknown[]).includes(request.bucket)) {
			throw new InvalidInputError(`Report bucket "${String(request.bucket)}" is not one of ${REPORT_BUCKETS.join(', ')}`);
		}
		const given = checkNow(now);
		return this.run('reading the report', async () => {
			const until = given ?? (await this.serverTime());
			const { since, firstHour, lastHour } = reportHours(until, sinceMs, request.bucket);
			const tally = await this.readReport(namespace, firstHour, lastHour);
			return buildReport(namespace, since, until, request.bucket, tally);
		});
	}

	async purge(namespace: string, now?: number): Promise<PurgeResult> {
		checkName('namespace', namespace);
		const given = checkNow(now);
		return this.run('purging expired keys', async () => this.purgeExpired(namespace, given ?? (await this.serverTime())));
	}

	/**
	 * One entry per (key, reason) — per key for incidents —, repeats inside the list counted as its
	 * occurrences (exceptions.ts); one round trip per grouping and MAX_CHUNK entries.
	 */
	async recordExceptions(namespace: string, requests: OpenExceptionRequest[], actor: Actor, now?: number): Promise<ExceptionRecord[]> {
		if (requests.length === 0) return [];
		checkName('namespace', namespace);
		for (const request of requests) checkExceptionRequest(request);
		const who = checkActor(actor);
		const at = checkNow(now);
		const recorded: ExceptionRecord[] = [];
		for (const grouping of EXCEPTION_GROUPINGS) {
			const entries = distinctExceptions(requests.filter((request) => groupingOf(request) === grouping));
			recorded.push(
				...(await this.inChunks(entries, (chunk) =>
					this.run('recording exceptions', () => this.recordExceptionChunk(namespace, grouping, chunk, who, at)),
				)),
			);
		}
		return inRequestOrder(requests, recorded);
	}

	async resolveException(request: ResolveExceptionRequest, actor: Actor, now?: number): Promise<ResolveExceptionResult> {
		checkResolution(request.resolution);
		const clean: ResolveExceptionRequest = {
			id: request.id ?? null,
			namespace: request.namespace || null,
			key: request.key ?? null,
			resolution: request.resolution,
			resolvedBy: textOrNull('resolvedBy', request.resolvedBy),
			note: textOrNull('note', request.note),
			resultJson: checkResultJson(request.resultJson),
			force: request.force === true,
			resolvedVia: checkResolvedVia(request.resolvedVia),
			claimToken: textOrNull('claim token', request.claimToken),
			endedBy: request.endedBy === undefined || request.endedBy === null ? null : Math.round(requireNumber('endedBy', request.endedBy)),
			actOnKey: request.actOnKey === true && (request.id ?? null) === null,
		};
		const who = checkActor(actor);
		const at = checkNow(now);
		// An id that is no text, or no id and no (namespace, key), names no exception.
		if (clean.id !== null && typeof clean.id !== 'string') return NOTHING_RESOLVED;
		if (clean.id === null) {
			if (clean.namespace === null || clean.key === null) return NOTHING_RESOLVED;
			checkName('namespace', clean.namespace);
			checkName('key', clean.key);
		}
		return this.run('resolving an exception', () => this.resolve(clean, who, at));
	}

	async getException(id: string): Promise<ExceptionRecord | null> {
		if (typeof id !== 'string') return null;
		return this.run('reading an exception', () => this.readException(id));
	}

	async listOpenExceptions(query: ExceptionQuery, now?: number): Promise<ExceptionRecord[]> {
		const namespace = query.namespace || null;
		if (namespace !== null) checkName('namespace', namespace);
		const owner = textOrNull('owner', query.owner || null);
		const reason = textOrNull('reason', query.reason || null);
		const olderThanMs = query.olderThanMs ? requireNumber('olderThanMs', query.olderThanMs, 0) : null;
		const limit = clampLimit(query.limit);
		const given = checkNow(now);
		return this.run('listing exceptions', async () => {
			const firstSeenBefore = olderThanMs === null ? null : (given ?? (await this.serverTime())) - olderThanMs;
			return this.readOpenExceptions({ namespace, owner, reason, firstSeenBefore, limit });
		});
	}

	async clock(): Promise<number> {
		return this.run('reading the clock', () => this.serverTime());
	}

	async stuckClaims(query: FeedQuery): Promise<FeedPage<KeyRecord>> {
		const clean = checkFeedQuery(query);
		const events = await this.run('reading stuck claims', () => this.readStuckClaims(clean));
		return feedPage(events, clean, (record) => ({ at: record.leaseUntil ?? clean.until, after: [record.namespace, record.key] }));
	}

	async exceptionsSeen(query: FeedQuery): Promise<FeedPage<ExceptionRecord>> {
		const clean = checkFeedQuery(query);
		const events = await this.run('reading exceptions seen', () => this.readExceptionsSeen(clean));
		return feedPage(events, clean, (exception) => ({ at: exception.lastSeenAt, after: [exception.id] }));
	}

	/** Runs `work` on each MAX_CHUNK slice in order, one after the other, and joins the answers. */
	private async inChunks<T, R>(list: readonly T[], work: (part: T[]) => Promise<R[]>): Promise<R[]> {
		const results: R[] = [];
		for (const part of chunk(list, MAX_CHUNK)) results.push(...(await work(part)));
		return results;
	}
}

function checkFeedQuery(query: FeedQuery): FeedQuery {
	if (query.namespace !== null) checkName('namespace', query.namespace);
	const after = query.from?.after ?? null;
	if (after !== null && (!Array.isArray(after) || after.some((part) => typeof part !== 'string'))) {
		throw new InvalidInputError('The feed position is not valid: its tie-breaker must be a list of texts or null');
	}
	return {
		namespace: query.namespace,
		from: { at: requireNumber('from.at', query.from?.at), after },
		until: requireNumber('until', query.until),
		limit: clampLimit(query.limit),
	};
}

/** The first `limit` events and where the next page starts: after the last, or at `until`. */
function feedPage<T>(events: T[], query: FeedQuery, positionOf: (event: T) => FeedPosition): FeedPage<T> {
	const page = events.slice(0, query.limit);
	return {
		events: page,
		next: events.length > query.limit ? positionOf(page[page.length - 1]) : { at: query.until, after: null },
	};
}
