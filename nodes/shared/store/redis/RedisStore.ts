// The Redis adapter: marshals store calls into the Lua scripts under lua/ (one script per atomic
// operation, see scripts.ts) and their replies back into the store types. Reads that need no
// atomicity (get, history, list, exceptions) are plain commands; all but the cross-namespace
// exception list read keys of one hash slot.

import { randomUUID } from 'crypto';
import { Cluster, Redis } from 'ioredis';
import { groupBy } from '../../engine/batch';
import { InvalidInputError } from '../errors';
import { distinctExceptions, groupingOf, inRequestOrder } from '../exceptions';
import { validateKeyPrefix } from '../identifiers';
import { StatsBuilder, type StatsCounter } from '../stats';
import {
	MAX_CHUNK,
	RecordState,
	type Actor,
	type ClaimDecision,
	type ClaimPolicy,
	type ClaimRequest,
	type ExceptionQuery,
	type ExceptionRecord,
	type FeedPage,
	type FeedQuery,
	type HistoryEntry,
	type IdempotencyStore,
	type KeyRecord,
	type ListPage,
	type ListQuery,
	type NamespaceStats,
	type OpenExceptionRequest,
	type PurgeResult,
	type RestoreRequest,
	type ResolveExceptionRequest,
	type ResolveExceptionResult,
	type StoreHealth,
	type TransitionKind,
	type TransitionRequest,
	type TransitionResult,
} from '../types';
import {
	decodeCursor,
	encodeCursor,
	nullableArg,
	toClaimDecision,
	toException,
	toHistoryEntry,
	toRecord,
	type ListCursor,
} from './codec';
import { createClient, describeTarget, type RedisStoreConfig } from './connection';
import { translateError } from './errors';
import { execPipeline, KeyOrderReader, ScoreOrderReader } from './indexReaders';
import { checkEviction, evictionError, type EvictionVerdict } from './eviction';
import { exceptionId, NamespaceKeys, namespacesEverywhere, openExceptionsEverywhere, parseExceptionId } from './keys';
import { adoptNamespaces, feedLimit, feedNamespaces, mergePage, readIndex, type FeedEntry } from './feeds';
import { defineScripts, type ScriptArg, type ScriptName, type ScriptRunner } from './scripts';

export type { RedisStoreConfig } from './connection';

export interface RedisStoreOptions {
	/** Prepended to every key; default `idem:`. */
	keyPrefix?: string;
	/** How errors name the server, e.g. `Redis at cache:6379`; derived from the client if absent. */
	target?: string;
	/** Claim even on a Redis that may evict keys (see eviction.ts); default false. */
	allowEviction?: boolean;
}

export const DEFAULT_KEY_PREFIX = 'idem:';
const HOUR_MS = 3_600_000;
const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;
/** Index entries one list call looks at before it returns a (possibly short) page and a cursor. */
const LIST_SCAN_BUDGET = 1000;
const PURGE_BATCH = 500;
const FORGET_BATCH = 1000;
/** The longest lease or retention (1000 years); the scripts refuse longer ones (common.lua). */
export const MAX_DURATION_MS = 31_557_600_000_000;
/** How long a "this Redis does not evict" answer is trusted before claims read it again. */
const EVICTION_RECHECK_MS = 60_000;

const STATES = new Set<string>(Object.values(RecordState));
const KINDS = new Set<TransitionKind>(['markProcessed', 'markFailed', 'markReceived', 'release']);
const SEVERITIES = new Set<string>(['low', 'medium', 'high', 'critical']);
const RESOLUTIONS = new Set<string>(['replay', 'markProcessed', 'discard']);

export class RedisStore implements IdempotencyStore {
	readonly kind = 'redis' as const;
	readonly keyPrefix: string;
	private readonly client: Redis | Cluster;
	private readonly ownsClient: boolean;
	private readonly target: string;
	private readonly scripts: Record<ScriptName, ScriptRunner>;
	/** Open exception ids of every namespace (see keys.ts): another slot than any namespace. */
	private readonly openExceptionsEverywhere: string;
	private readonly allowEviction: boolean;
	/** When the eviction policy was last found safe (see ensureNoEviction). */
	private noEvictionSince = -Infinity;
	private evictionCheck: Promise<EvictionVerdict> | null = null;
	private lastConnectionError: Error | null = null;
	private closed = false;
	/** Namespaces this store has put in the registry (keys.ts), so each costs one SADD per process. */
	private readonly registered = new Set<string>();
	private adopted: Promise<void> | null = null;
	private readonly onError = (error: Error) => {
		this.lastConnectionError = error;
	};
	private readonly onReady = () => {
		this.lastConnectionError = null;
	};

	/**
	 * From a credential's settings (the store owns and closes the connection), or from an ioredis
	 * client the caller owns and closes.
	 */
	constructor(source: RedisStoreConfig | Redis | Cluster, options: RedisStoreOptions = {}) {
		if (isClient(source)) {
			this.client = source;
			this.ownsClient = false;
			this.keyPrefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
			this.target = options.target ?? describeClient(source);
			this.allowEviction = options.allowEviction === true;
		} else {
			this.keyPrefix = validateKeyPrefix(options.keyPrefix ?? source.keyPrefix ?? DEFAULT_KEY_PREFIX);
			this.client = createClient(source);
			this.ownsClient = true;
			this.target = options.target ?? describeTarget(source);
			this.allowEviction = (options.allowEviction ?? source.allowEviction) === true;
		}
		// An 'error' event without a listener would crash the n8n process.
		this.client.on('error', this.onError);
		this.client.on('ready', this.onReady);
		this.scripts = defineScripts(this.client);
		this.openExceptionsEverywhere = openExceptionsEverywhere(this.keyPrefix);
	}

	private keys(namespace: string): NamespaceKeys {
		return new NamespaceKeys(this.keyPrefix, namespace);
	}

	private async call<T>(doing: string, work: () => Promise<T>): Promise<T> {
		try {
			await this.reviveCluster();
			return await work();
		} catch (error) {
			throw translateError(error, this.target, doing, this.lastConnectionError);
		}
	}

	/**
	 * A cluster client gives up for good after its retries (so that calls fail fast while the
	 * cluster is down); the next call starts it again, so a pooled store recovers on its own.
	 */
	private async reviveCluster(): Promise<void> {
		if (this.ownsClient && !this.closed && this.client instanceof Cluster && this.client.status === 'end') {
			await this.client.connect().catch(() => undefined);
		}
	}

	/** One reading of the eviction policy at a time, shared by the calls that wait for it. */
	private readEviction(): Promise<EvictionVerdict> {
		if (!this.evictionCheck) {
			this.evictionCheck = checkEviction(this.client).finally(() => {
				this.evictionCheck = null;
			});
		}
		return this.evictionCheck;
	}

	/**
	 * Claims are refused on a Redis that may evict keys, unless allowEviction accepts the risk. A
	 * safe answer is trusted for a minute; an unsafe one is read again on the next claim, so that
	 * fixing the policy takes effect at once.
	 */
	private async ensureNoEviction(): Promise<void> {
		if (this.allowEviction || Date.now() - this.noEvictionSince < EVICTION_RECHECK_MS) return;
		const verdict = await this.readEviction();
		if (!verdict.safe) throw evictionError(this.target, verdict);
		this.noEvictionSince = Date.now();
	}

	/** Before the first write to a namespace: the trigger's "every namespace" must know it. */
	private async register(namespace: string): Promise<void> {
		if (this.registered.has(namespace)) return;
		await this.client.sadd(namespacesEverywhere(this.keyPrefix), namespace);
		this.registered.add(namespace);
	}

	private async serverTime(): Promise<number> {
		const [seconds, micros] = await this.client.time();
		return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
	}

	async claim(
		namespace: string,
		requests: ClaimRequest[],
		policy: ClaimPolicy,
		actor: Actor,
		now?: number,
	): Promise<ClaimDecision[]> {
		if (requests.length === 0) return [];
		if (requests.length > MAX_CHUNK) {
			throw new InvalidInputError(`A claim takes at most ${MAX_CHUNK} keys, got ${requests.length}`);
		}
		checkPolicy(policy);
		const keys = this.keys(namespace);
		const scriptKeys = [...keys.scriptKeys];
		const args: ScriptArg[] = [
			nowArg(now),
			Math.round(policy.leaseMs),
			Math.round(policy.retentionMs),
			policy.onInProgress,
			policy.onLeaseExpired,
			policy.onFailed,
			policy.maxAttempts,
			policy.onPayloadMismatch,
			...actorArgs(actor),
		];
		for (const request of requests) {
			scriptKeys.push(keys.record(request.key), keys.history(request.key));
			args.push(
				request.key,
				nullableArg(textOrNull('fingerprint', request.fingerprint)),
				randomUUID(),
				repeatCount('repeats.duplicates', request.repeats?.duplicates),
				repeatCount('repeats.mismatches', request.repeats?.mismatches),
			);
		}
		const replies = await this.call('claiming keys', async () => {
			await this.ensureNoEviction();
			await this.register(namespace);
			return this.scripts.claim(scriptKeys, args);
		});
		return requests.map((request, i) => toClaimDecision(request.key, (replies as unknown[])[i]));
	}

	/** One script call per 1000 requests, in order; each transition is atomic on its own. */
	async transition(
		namespace: string,
		requests: TransitionRequest[],
		actor: Actor,
		now?: number,
	): Promise<TransitionResult[]> {
		for (const request of requests) {
			if (!KINDS.has(request.kind)) throw new InvalidInputError(`Unknown transition "${String(request.kind)}"`);
		}
		const results: TransitionResult[] = [];
		for (let i = 0; i < requests.length; i += MAX_CHUNK) {
			results.push(...(await this.transitionChunk(namespace, requests.slice(i, i + MAX_CHUNK), actor, now)));
		}
		return results;
	}

	private async transitionChunk(
		namespace: string,
		requests: TransitionRequest[],
		actor: Actor,
		now: number | undefined,
	): Promise<TransitionResult[]> {
		const keys = this.keys(namespace);
		const scriptKeys = [...keys.scriptKeys];
		const args: ScriptArg[] = [nowArg(now), ...actorArgs(actor)];
		for (const request of requests) {
			scriptKeys.push(keys.record(request.key), keys.history(request.key));
			args.push(
				request.key,
				request.kind,
				nullableArg(textOrNull('claim token', request.claimToken)),
				request.verifyClaim ? '1' : '0',
				request.force ? '1' : '0',
				nullableArg(textOrNull('result', request.resultJson)),
				nullableArg(textOrNull('error message', request.errorMessage)),
				Math.round(requireNumber('retentionMs', request.retentionMs ?? 0, 0, MAX_DURATION_MS)),
			);
		}
		const replies = await this.call('recording a transition', () => this.scripts.transition(scriptKeys, args));
		return requests.map((request, i) => {
			const [applied, noop, rejectReason, record] = (replies as unknown[])[i] as [
				number,
				number,
				TransitionResult['rejectReason'],
				string[] | null,
			];
			return {
				key: request.key,
				applied: applied === 1,
				noop: noop === 1,
				rejectReason: rejectReason ?? null,
				record: record ? toRecord(namespace, request.key, record) : null,
			};
		});
	}

	async get(namespace: string, key: string): Promise<KeyRecord | null> {
		const recordKey = this.keys(namespace).record(key);
		const hash = await this.call('reading a key', () => this.client.hgetall(recordKey));
		return toRecord(namespace, key, hash);
	}

	async history(namespace: string, key: string): Promise<HistoryEntry[]> {
		const historyKey = this.keys(namespace).history(key);
		const entries = await this.call('reading history', () => this.client.lrange(historyKey, 0, -1));
		return entries.map(toHistoryEntry);
	}

	/**
	 * Pages through an index: key order without filters, updatedAt for a state, leaseUntil for
	 * stuck claims. Records that are gone or past retention are skipped; index entries of records
	 * Redis has expired are dropped on the way. A page may come back short (with a cursor) when
	 * many entries in a row had to be skipped.
	 */
	async list(namespace: string, query: ListQuery, now?: number): Promise<ListPage> {
		const keys = this.keys(namespace);
		const limit = Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(query.limit || DEFAULT_LIST_LIMIT)));
		const cursor = decodeCursor(query.cursor);
		const state = query.state ?? null;
		if (state !== null && !STATES.has(state)) throw new InvalidInputError(`Unknown state "${String(state)}"`);
		const olderThanMs =
			query.olderThanMs === null || query.olderThanMs === undefined
				? null
				: requireNumber('olderThanMs', query.olderThanMs, 0);
		if (now !== undefined) requireNumber('now', now);
		if (query.stuckOnly && state !== null && state !== 'processing') return { records: [], nextCursor: null };

		return this.call('listing keys', async () => {
			const at = now ?? (await this.serverTime());
			const updatedBefore = olderThanMs === null ? null : at - olderThanMs;
			const reader = query.stuckOnly
				? new ScoreOrderReader(this.client, keys.leaseIndex, at, cursor)
				: state !== null
					? new ScoreOrderReader(this.client, keys.stateIndex(state), updatedBefore ?? Infinity, cursor)
					: new KeyOrderReader(this.client, keys.keysIndex, cursor);
			const wanted = (record: KeyRecord): boolean =>
				!(record.expiresAt !== null && record.expiresAt <= at) &&
				(state === null || record.state === state) &&
				(!query.stuckOnly ||
					(record.state === 'processing' && record.leaseUntil !== null && record.leaseUntil <= at)) &&
				(updatedBefore === null || record.updatedAt <= updatedBefore);

			const found: Array<{ record: KeyRecord; at: ListCursor }> = [];
			const gone: string[] = [];
			let scanned = 0;
			let lastScanned: ListCursor | null = cursor;
			let exhausted = false;
			scan: while (scanned < LIST_SCAN_BUDGET) {
				const batch = await reader.next(Math.min(500, Math.max(limit + 1, 100), LIST_SCAN_BUDGET - scanned));
				const pipeline = this.client.pipeline();
				for (const entry of batch.entries) pipeline.hgetall(keys.record(entry.key));
				const hashes = batch.entries.length ? await execPipeline(pipeline) : [];
				for (let i = 0; i < batch.entries.length; i++) {
					const entry = batch.entries[i];
					scanned++;
					lastScanned = entry;
					const record = toRecord(namespace, entry.key, hashes[i] as Record<string, string>);
					if (record === null) {
						gone.push(entry.key);
					} else if (wanted(record)) {
						found.push({ record, at: entry });
						if (found.length > limit) break scan;
					}
				}
				if (batch.done) {
					exhausted = true;
					break;
				}
			}
			for (let i = 0; i < gone.length; i += FORGET_BATCH) {
				const batch = gone.slice(i, i + FORGET_BATCH);
				await this.scripts.forget([...keys.scriptKeys, ...batch.map((key) => keys.record(key))], batch);
			}
			const records = found.slice(0, limit).map((entry) => entry.record);
			let nextCursor: string | null = null;
			if (found.length > limit) nextCursor = encodeCursor(found[limit - 1].at);
			else if (!exhausted && lastScanned) nextCursor = encodeCursor(lastScanned);
			return { records, nextCursor };
		});
	}

	/** Sums the hourly counters of the hours that overlap [now - sinceMs, now]. */
	async stats(namespace: string, sinceMs: number, now?: number): Promise<NamespaceStats> {
		const keys = this.keys(namespace);
		requireNumber('sinceMs', sinceMs, 0);
		if (now !== undefined) requireNumber('now', now);
		return this.call('reading stats', async () => {
			const until = now ?? (await this.serverTime());
			const since = until - sinceMs;
			const reply = (await this.scripts.stats(keys.scriptKeys, [hourOf(since), hourOf(until)])) as Array<
				string | number
			>;
			const builder = new StatsBuilder(namespace, since, until);
			for (let i = 0; i + 1 < reply.length; i += 2) {
				const counter = String(reply[i]);
				const count = Number(reply[i + 1]);
				if (counter === 'openExceptions') builder.stats.openExceptions = count;
				else if (counter.startsWith('ambiguous:')) builder.add('ambiguous', count, counter.slice('ambiguous:'.length));
				else if (['new', 'duplicate', 'processed', 'failed', 'released'].includes(counter)) builder.add(counter as StatsCounter, count);
			}
			return builder.stats;
		});
	}

	/** Forgets records past retention with their history, in batches of the expiry index. */
	async purge(namespace: string, now?: number): Promise<PurgeResult> {
		const keys = this.keys(namespace);
		if (now !== undefined) requireNumber('now', now);
		return this.call('purging expired keys', async () => {
			const at = now ?? (await this.serverTime());
			const purged: PurgeResult = { records: 0, history: 0 };
			for (;;) {
				const batch = await this.client.zrangebyscore(keys.expiryIndex, '-inf', at, 'LIMIT', 0, PURGE_BATCH);
				if (batch.length === 0) return purged;
				const scriptKeys = [...keys.scriptKeys];
				for (const key of batch) scriptKeys.push(keys.record(key), keys.history(key));
				// Every candidate leaves the range [-inf, at]: deleted, or re-scored to its later expiry.
				const [records, history] = (await this.scripts.purge(scriptKeys, [at, ...batch])) as [number, number];
				purged.records += Number(records);
				purged.history += Number(history);
			}
		});
	}

	/** One restore script per 1000 requests (see lua/restore.lua). */
	async restore(namespace: string, requests: RestoreRequest[], actor: Actor, now?: number): Promise<boolean[]> {
		const keys = this.keys(namespace);
		const restored: boolean[] = [];
		for (let i = 0; i < requests.length; i += MAX_CHUNK) {
			const chunk = requests.slice(i, i + MAX_CHUNK);
			const scriptKeys = [...keys.scriptKeys];
			const args: ScriptArg[] = [nowArg(now), ...actorArgs(actor)];
			for (const request of chunk) {
				scriptKeys.push(keys.record(request.key), keys.history(request.key));
				args.push(
					request.key,
					textOrNull('claim token', request.claimToken) ?? '',
					request.prior === null ? '' : JSON.stringify(request.prior),
				);
			}
			const replies = await this.call('undoing claims', () => this.scripts.restore(scriptKeys, args));
			restored.push(...(replies as number[]).map((reply) => Number(reply) === 1));
		}
		return restored;
	}

	/**
	 * One script per 1000 distinct (key, reason) pairs; repeats of a pair in the list add to its
	 * occurrences, as in Postgres. The cross-namespace index is written after the script: when
	 * that write fails the call fails, and the next occurrence of the exception writes it again.
	 */
	async recordExceptions(
		namespace: string,
		requests: OpenExceptionRequest[],
		actor: Actor,
		now?: number,
	): Promise<ExceptionRecord[]> {
		if (requests.length === 0) return [];
		const keys = this.keys(namespace);
		for (const request of requests) checkExceptionRequest(request);
		const args: ScriptArg[] = [nowArg(now), namespace, ...actorArgs(actor)];
		const recorded: ExceptionRecord[] = [];
		const entries = distinctExceptions(requests);
		for (let i = 0; i < entries.length; i += MAX_CHUNK) {
			const chunk = entries.slice(i, i + MAX_CHUNK);
			const scriptKeys = [...keys.scriptKeys];
			const chunkArgs = [...args];
			for (const { request, occurrences, reasons } of chunk) {
				const uuid = randomUUID();
				scriptKeys.push(keys.exceptions(request.key), keys.openExceptions(request.key), keys.exceptionKey(uuid));
				chunkArgs.push(
					request.key,
					request.reason,
					request.owner,
					request.severity,
					request.route,
					occurrences,
					exceptionId(uuid, namespace),
					groupingOf(request),
					JSON.stringify(reasons),
				);
			}
			scriptKeys.push(keys.seenExceptionsIndex);
			const exceptions = await this.call('recording exceptions', async () => {
				await this.register(namespace);
				const replies = (await this.scripts.record_exceptions(scriptKeys, chunkArgs)) as string[];
				const recorded = replies.map(toException);
				await this.client.zadd(
					this.openExceptionsEverywhere,
					...recorded.flatMap((exception) => [exception.firstSeenAt, exception.id]),
				);
				return recorded;
			});
			recorded.push(...exceptions);
		}
		return inRequestOrder(requests, recorded);
	}

	/**
	 * By id: the id names the namespace, its key is looked up (it never changes), then one script
	 * resolves and acts on the key. An id that cannot be one, or that no exception has, resolves
	 * nothing and reports no record.
	 */
	async resolveException(
		request: ResolveExceptionRequest,
		actor: Actor,
		now?: number,
	): Promise<ResolveExceptionResult> {
		if (!RESOLUTIONS.has(request.resolution)) {
			throw new InvalidInputError(
				`Resolution "${String(request.resolution)}" is not one of replay, markProcessed, discard`,
			);
		}
		const resultJson = textOrNull('result', request.resultJson);
		if (resultJson !== null) checkJson(resultJson);
		const nothing: ResolveExceptionResult = { exceptions: [], record: null };
		let namespace: string;
		let key: string;
		let uuid = '';
		if (request.id !== null && request.id !== undefined) {
			const parsed = parseExceptionId(request.id);
			if (!parsed) return nothing;
			namespace = parsed.namespace;
			uuid = parsed.uuid;
			const found = await this.call('reading an exception', () =>
				this.client.get(this.keys(parsed.namespace).exceptionKey(parsed.uuid)),
			);
			if (found === null) return nothing;
			key = found;
		} else {
			if (!request.namespace || request.key === null || request.key === undefined) return nothing;
			namespace = request.namespace;
			key = textOrNull('key', request.key) as string;
		}
		const keys = this.keys(namespace);
		const scriptKeys = [
			...keys.scriptKeys,
			keys.record(key),
			keys.history(key),
			keys.exceptions(key),
			keys.openExceptions(key),
		];
		const args: ScriptArg[] = [
			nowArg(now),
			...actorArgs(actor),
			key,
			uuid,
			request.resolution,
			nullableArg(textOrNull('resolvedBy', request.resolvedBy)),
			nullableArg(textOrNull('note', request.note)),
			nullableArg(resultJson),
			request.force === true ? '1' : '0',
		];
		const [resolved, record, refused] = (await this.call('resolving an exception', () =>
			this.scripts.resolve_exception(scriptKeys, args),
		)) as [string[], string[], 'live_claim' | null | undefined];
		const exceptions = resolved.map(toException);
		if (exceptions.length > 0) {
			// Best effort: listOpenExceptions drops the ids of resolved exceptions it meets anyway.
			await this.client
				.zrem(this.openExceptionsEverywhere, ...exceptions.map((exception) => exception.id))
				.catch(() => undefined);
		}
		return { exceptions, record: toRecord(namespace, key, record), refused: refused ?? null };
	}

	async getException(id: string): Promise<ExceptionRecord | null> {
		const parsed = parseExceptionId(id);
		if (!parsed) return null;
		const [exception] = await this.call('reading an exception', () => this.readExceptions([parsed]));
		return exception;
	}

	/**
	 * Open exceptions in (firstSeenAt, id) order: from the namespace's own index, or across
	 * namespaces from the index of every open id. That index is written after each script (another
	 * slot), so every entry is checked against the namespace's data; ids that are resolved or gone
	 * are dropped from it on the way.
	 */
	async listOpenExceptions(query: ExceptionQuery, now?: number): Promise<ExceptionRecord[]> {
		const limit = Math.min(MAX_LIST_LIMIT, Math.max(1, Math.floor(query.limit || DEFAULT_LIST_LIMIT)));
		const namespace = query.namespace || null;
		const keys = namespace === null ? null : this.keys(namespace);
		const owner = query.owner || null;
		const reason = query.reason || null;
		const olderThanMs = query.olderThanMs ? requireNumber('olderThanMs', query.olderThanMs, 0) : null;
		if (now !== undefined) requireNumber('now', now);

		return this.call('listing exceptions', async () => {
			const maxScore = olderThanMs === null ? Infinity : (now ?? (await this.serverTime())) - olderThanMs;
			const index = keys ? keys.openExceptionsIndex : this.openExceptionsEverywhere;
			const reader = new ScoreOrderReader(this.client, index, maxScore, null);
			const found: ExceptionRecord[] = [];
			const stale: string[] = [];
			for (;;) {
				const batch = await reader.next(Math.min(500, Math.max(limit + 1, 100)));
				const refs = batch.entries.map((entry) =>
					namespace === null ? parseExceptionId(entry.key) : { uuid: entry.key, namespace },
				);
				const exceptions = await this.readExceptions(refs);
				for (let i = 0; i < exceptions.length && found.length < limit; i++) {
					const exception = exceptions[i];
					if (exception === null || exception.status !== 'open') {
						stale.push(batch.entries[i].key);
					} else if ((owner === null || exception.owner === owner) && (reason === null || exception.reason === reason)) {
						found.push(exception);
					}
				}
				if (found.length >= limit || batch.done) break;
			}
			if (namespace === null && stale.length > 0) {
				await this.client.zrem(this.openExceptionsEverywhere, ...stale);
			}
			return found;
		});
	}

	async clock(): Promise<number> {
		return this.call('reading the clock', () => this.serverTime());
	}

	/** Reads every asked namespace in parallel; a namespace never seen has empty indexes. */
	private async feed<T>(
		query: FeedQuery,
		doing: string,
		read: (keys: NamespaceKeys, namespace: string, limit: number) => Promise<Array<FeedEntry<T>>>,
	): Promise<FeedPage<T>> {
		const limit = feedLimit(query.limit);
		return this.call(doing, async () => {
			if (query.namespace === null) {
				this.adopted ??= adoptNamespaces(this.client, this.keyPrefix).catch((error) => {
					this.adopted = null;
					throw error;
				});
				await this.adopted;
			}
			const namespaces = await feedNamespaces(this.client, this.keyPrefix, query.namespace);
			const perNamespace = await Promise.all(namespaces.map((namespace) => read(this.keys(namespace), namespace, limit)));
			return mergePage(perNamespace, query, limit);
		});
	}

	async stuckClaims(query: FeedQuery): Promise<FeedPage<KeyRecord>> {
		return this.feed(query, 'reading stuck claims', (keys, namespace, limit) =>
			readIndex<KeyRecord>(this.client, keys.leaseIndex, namespace, query, limit, (key) => [namespace, key], async (entries) => {
				if (entries.length === 0) return;
				const pipeline = this.client.pipeline();
				for (const entry of entries) pipeline.hgetall(keys.record(entry.member));
				const hashes = await execPipeline(pipeline);
				entries.forEach((entry, i) => {
					const record = toRecord(namespace, entry.member, hashes[i] as Record<string, string>);
					if (record?.state === 'processing' && record.leaseUntil === entry.at) entry.event = record;
				});
			}),
		);
	}

	async exceptionsSeen(query: FeedQuery): Promise<FeedPage<ExceptionRecord>> {
		return this.feed(query, 'reading exceptions seen', async (keys, namespace, limit) => {
			const done: string[] = [];
			const found = await readIndex<ExceptionRecord>(
				this.client,
				keys.seenExceptionsIndex,
				namespace,
				query,
				limit,
				(uuid) => [exceptionId(uuid, namespace)],
				async (entries) => {
					if (entries.length === 0) return;
					const exceptions = await this.readExceptions(entries.map((entry) => ({ uuid: entry.member, namespace })));
					entries.forEach((entry, i) => {
						const exception = exceptions[i];
						if (exception?.status === 'open' && exception.lastSeenAt === entry.at) entry.event = exception;
						else if (exception === null || exception.status === 'resolved') done.push(entry.member);
					});
				},
			);
			// A resolved exception never opens again (a repeat opens a new one): it leaves the feed,
			// after the read, so that the read's offsets stay right.
			if (done.length > 0) await this.client.zrem(keys.seenExceptionsIndex, ...done);
			return found;
		});
	}

	/**
	 * Exceptions by (namespace, uuid), null where there is none: per namespace, one pipeline for
	 * their keys and one for the exceptions (keys of one slot); namespaces in parallel.
	 */
	private async readExceptions(
		refs: Array<{ uuid: string; namespace: string } | null>,
	): Promise<Array<ExceptionRecord | null>> {
		const found: Array<ExceptionRecord | null> = refs.map(() => null);
		const positions = refs.map((_, i) => i).filter((i) => refs[i] !== null);
		const byNamespace = groupBy(positions, (i) => refs[i]!.namespace);
		await Promise.all(
			[...byNamespace].map(async ([namespace, positions]) => {
				const keys = this.keys(namespace);
				const uuids = positions.map((i) => refs[i]!.uuid);
				const lookup = this.client.pipeline();
				for (const uuid of uuids) lookup.get(keys.exceptionKey(uuid));
				const exceptionKeys = (await execPipeline(lookup)) as Array<string | null>;
				const read = this.client.pipeline();
				const wanted: number[] = [];
				exceptionKeys.forEach((key, n) => {
					if (key === null) return;
					read.hget(keys.exceptions(key), uuids[n]);
					wanted.push(n);
				});
				if (wanted.length === 0) return;
				const jsons = (await execPipeline(read)) as Array<string | null>;
				wanted.forEach((n, w) => {
					const json = jsons[w];
					if (json !== null) found[positions[n]] = toException(json);
				});
			}),
		);
		return found;
	}

	async health(): Promise<StoreHealth> {
		try {
			await this.call('checking the connection', () => this.client.ping());
			// Proves that this user may run the scripts on keys under the prefix, without writing.
			await this.call('running a read-only script', () =>
				this.scripts.stats(this.keys('health-check').scriptKeys, [0, 0]),
			);
		} catch (error) {
			return { ok: false, message: (error as Error).message };
		}
		const warnings: string[] = [];
		try {
			const verdict = await this.call('reading the eviction policy', () => this.readEviction());
			if (!verdict.safe && !this.allowEviction) return { ok: false, message: evictionError(this.target, verdict).message };
			if (!verdict.safe) {
				warnings.push(`${this.target} ${verdict.problem} "Allow Eviction" is on: claims go ahead and you accept that risk.`);
			}
		} catch (error) {
			return { ok: false, message: (error as Error).message };
		}
		const persistence = await this.persistenceWarning();
		if (persistence) warnings.push(persistence);
		return {
			ok: true,
			message: `Connected to ${this.target}; keys are stored under "${this.keyPrefix}"`,
			...(warnings.length > 0 ? { warning: warnings.join(' ') } : {}),
		};
	}

	private async persistenceWarning(): Promise<string | undefined> {
		try {
			const appendonly = (await this.client.config('GET', 'appendonly')) as unknown as string[];
			const save = (await this.client.config('GET', 'save')) as unknown as string[];
			if (appendonly[1] === 'no' && (save[1] ?? '') === '') {
				return (
					'Redis persistence is off (appendonly no, no save points): after a Redis restart every key ' +
					'counts as new again. Turn on AOF (appendonly yes) or RDB snapshots for idempotency that ' +
					'survives restarts.'
				);
			}
		} catch {
			// CONFIG is disabled or not allowed for this user (managed Redis): persistence is unknown.
		}
		return undefined;
	}

	async close(): Promise<void> {
		this.closed = true;
		this.client.off('error', this.onError);
		this.client.off('ready', this.onReady);
		if (!this.ownsClient) return;
		// Never let a dead connection keep the process alive, nor make close() wait for it.
		this.client.on('error', () => undefined);
		if (this.client.status === 'ready') {
			try {
				await this.client.quit();
				return;
			} catch {
				// fall through
			}
		}
		this.client.disconnect();
	}
}

export function createRedisStore(config: RedisStoreConfig): RedisStore {
	return new RedisStore(config);
}

// --- argument checks ----------------------------------------------------------------------------


function isClient(source: unknown): source is Redis | Cluster {
	return (
		source instanceof Redis ||
		source instanceof Cluster ||
		typeof (source as { defineCommand?: unknown }).defineCommand === 'function'
	);
}

function describeClient(client: Redis | Cluster): string {
	if (client instanceof Cluster || (client as { isCluster?: boolean }).isCluster) return 'the Redis Cluster';
	const { host, port } = (client as Redis).options ?? {};
	return `Redis at ${host ?? 'localhost'}:${port ?? 6379}`;
}

function hourOf(time: number): number {
	return Math.floor(time / HOUR_MS) * HOUR_MS;
}

function requireNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
	if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
		const range = max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` of at least ${min}` : '';
		throw new InvalidInputError(`${name} must be a number${range}`);
	}
	return value;
}

function repeatCount(name: string, value: number | undefined): number {
	return value === undefined ? 0 : Math.floor(requireNumber(name, value, 0));
}

function nowArg(now: number | undefined): string {
	return now === undefined ? '' : String(Math.round(requireNumber('now', now)));
}

function textOrNull(name: string, value: unknown): string | null {
	if (value === null || value === undefined) return null;
	if (typeof value !== 'string') throw new InvalidInputError(`The ${name} must be text or null`);
	return value;
}

function checkExceptionRequest(request: OpenExceptionRequest): void {
	for (const field of ['key', 'reason', 'owner', 'route'] as const) {
		if (typeof request[field] !== 'string') throw new InvalidInputError(`The exception's ${field} must be text`);
	}
	if (!SEVERITIES.has(request.severity)) {
		throw new InvalidInputError(
			`Severity "${String(request.severity)}" is not one of low, medium, high, critical`,
		);
	}
}

function checkJson(text: string): void {
	try {
		JSON.parse(text);
	} catch {
		throw new InvalidInputError('The result is not valid JSON', 'Pass the result as a JSON object, e.g. {"contactId": "c-1"}.');
	}
}

function actorArgs(actor: Actor): string[] {
	return [
		nullableArg(textOrNull('workflow id', actor.workflowId)),
		nullableArg(textOrNull('execution id', actor.executionId)),
		nullableArg(textOrNull('node name', actor.node)),
	];
}

const POLICY_CHOICES: { [K in keyof ClaimPolicy]?: readonly string[] } = {
	onInProgress: ['ambiguous', 'duplicate', 'pending'],
	onLeaseExpired: ['ambiguous', 'reclaim'],
	onFailed: ['retry', 'ambiguous'],
	onPayloadMismatch: ['ambiguous', 'duplicate'],
};

function checkPolicy(policy: ClaimPolicy): void {
	requireNumber('leaseMs', policy.leaseMs, 1, MAX_DURATION_MS);
	requireNumber('retentionMs', policy.retentionMs, 0, MAX_DURATION_MS);
	requireNumber('maxAttempts', policy.maxAttempts, 0, 1e12);
	for (const [name, choices] of Object.entries(POLICY_CHOICES)) {
		const value = policy[name as keyof ClaimPolicy];
		if (!choices?.includes(value as string)) {
			throw new InvalidInputError(`${name} must be one of ${choices?.join(', ')}, got "${String(value)}"`);
		}
	}
}
