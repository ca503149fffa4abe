// The Redis adapter: the store primitives of base/BaseStore.ts as calls of the Lua scripts under
// lua/ (one script per atomic operation, see scripts.ts; each called from one place below) and
// their replies back into the store types (codec.ts, replies.ts). Reads that need no atomicity
// (get, history, list, exceptions) are plain commands; all but the cross-namespace exception list
// read keys of one hash slot, or of each of a namespace's buckets on a cluster (buckets.ts: every
// "Cluster hook" below; bucketReads.ts). Where each key lives is keys.ts.

import { compactRuns } from '../historyRuns';
import { randomUUID } from 'crypto';
import { Cluster, Redis } from 'ioredis';
import { BaseStore, type EventTally, type IndexPage, type IndexQuery, type OpenExceptionsQuery } from '../base/BaseStore';
import type { DistinctException } from '../exceptions';
import { validateKeyPrefix } from '../identifiers';
import type {
	Actor,
	ClaimDecision,
	ClaimPolicy,
	ClaimRequest,
	ExceptionGrouping,
	ExceptionRecord,
	FeedQuery,
	HistoryEntry,
	KeyRecord,
	PurgeResult,
	ResolveExceptionRequest,
	ResolveExceptionResult,
	ResolveRefusal,
	RestoreRequest,
	StoreHealth,
	TransitionRequest,
	TransitionResult,
} from '../types';
import { claimPolicyArgs, Reason } from '../types';
import { countBuckets, pageBuckets, purgeBuckets } from './bucketReads';
import { claimItemArg, nullableArg, toClaimDecision, transitionFlags, transitionPayload, toException, toHistoryEntry, toRecord } from './codec';
import { createClient, DEFAULT_REPLICA_TIMEOUT_MS, describeTarget, MAX_REPLICA_TIMEOUT_MS, type RedisStoreConfig } from './connection';
import { messageWithHint } from '../errors';
import { restoreRequestOf, restoreRequestsOf } from '../restoreRequests';
import { settledWithin } from '../../util/settledWithin';
import { translateError } from './errors';
import { EvictionGate, evictionError } from './eviction';
import { CLUSTER_BUCKETS, LayoutResolver, type NamespaceLayout } from './buckets';
import { keysOfException, readExceptions, readOpenExceptions, type ExceptionRef, type OpenIndex } from './exceptionReads';
import { recordInSlot, unrecordInSlot } from './exceptionWrites';
import type { ReportTally } from '../report';
import { adoptNamespaces, feedNamespaces, mergeEvents, readSeenIndex, readStuckIndex, type FeedEntry } from './feeds';
import { describeFinding, DurabilityMonitor, type DurabilitySettings, type RedisDurabilityReport } from './durability';
import { notReplicatedError, ReplicaWait, type Replicated, type Scripts } from './replication';
import { exceptionId, NamespaceKeys, namespacesEverywhere, openExceptionsEverywhere, parseExceptionId } from './keys';
import { sumReportTallies, toReportTally, toTransitionResult } from './replies';
import { defineScripts, type ScriptArg, type ScriptName, type ScriptRunner } from './scripts';

export type { RedisStoreConfig } from './connection';
export { MAX_DURATION_MS } from '../base/checks';

export interface RedisStoreOptions {
	/** Prepended to every key; default `idem:`. */
	keyPrefix?: string;
	/** How errors name the server, e.g. `Redis at cache:6379`; derived from the client if absent. */
	target?: string;
	/** Claim even on a Redis that may evict keys (see eviction.ts); default false. */
	allowEviction?: boolean;
	/** Durability settings (durability.ts, replication.ts), as in RedisStoreConfig. */
	allowNoPersistence?: boolean;
	acceptCrashLoss?: boolean;
	requireDurability?: boolean;
	waitForReplicas?: 'auto' | 'none' | number;
	replicaTimeoutMs?: number;
}

/** The settings both ways of making a store share. */
type Settings = Pick<RedisStoreOptions, 'allowEviction' | 'allowNoPersistence' | 'acceptCrashLoss' | 'requireDurability' | 'waitForReplicas' | 'replicaTimeoutMs'>;

export const DEFAULT_KEY_PREFIX = 'idem:';

/** A test's clock, or '' for the scripts to read Redis' own TIME. */
const nowArg = (now: number | null) => (now === null ? '' : String(now));
const actorArgs = (actor: Actor) => [nullableArg(actor.workflowId), nullableArg(actor.executionId), nullableArg(actor.node)];

export class RedisStore extends BaseStore {
	readonly kind = 'redis' as const;
	readonly keyPrefix: string;
	private readonly client: Redis | Cluster;
	private readonly ownsClient: boolean;
	private readonly target: string;
	private readonly scripts: Record<ScriptName, ScriptRunner>;
	/** Open exception ids of every namespace (see keys.ts): another slot than any namespace. */
	private readonly openExceptionsEverywhere: string;
	private readonly eviction: EvictionGate;
	/** Persistence and replicas, read at first use and on every reconnect (durability.ts). */
	private readonly durable: DurabilityMonitor;
	/** The lanes writes that wait for replicas run on (replication.ts). */
	private readonly replicas: ReplicaWait;
	private lastConnectionError: Error | null = null;
	private closed = false;
	/** Namespaces this store has put in the registry (keys.ts), so each costs one SADD per process. */
	private readonly registered = new Set<string>();
	private adopted: Promise<void> | null = null;
	/** Cluster hook (buckets.ts): where each namespace's keys are, one slot or its buckets. */
	private readonly layouts: LayoutResolver;
	private readonly onError = (error: Error) => {
		this.lastConnectionError = error;
	};
	private readonly onReady = () => {
		this.lastConnectionError = null;
		// A reconnect can land on another server (a failover): read its durability again.
		this.durable?.stale();
	};
	private readonly onNodeChange = () => this.durable?.stale();

	/**
	 * From a credential's settings (the store owns and closes the connection), or from an ioredis
	 * client the caller owns and closes.
	 */
	constructor(source: RedisStoreConfig | Redis | Cluster, options: RedisStoreOptions = {}) {
		super();
		let settings: Settings;
		if (isClient(source)) {
			this.client = source;
			this.ownsClient = false;
			this.keyPrefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
			this.target = options.target ?? describeClient(source);
			settings = options;
		} else {
			this.keyPrefix = validateKeyPrefix(options.keyPrefix ?? source.keyPrefix ?? DEFAULT_KEY_PREFIX);
			this.client = createClient(source);
			this.ownsClient = true;
			this.target = options.target ?? describeTarget(source);
			settings = { ...source, ...definedOnly(options) };
		}
		// An 'error' event without a listener would crash the n8n process.
		this.client.on('error', this.onError);
		this.client.on('ready', this.onReady);
		this.client.on('+node', this.onNodeChange);
		this.client.on('-node', this.onNodeChange);
		this.scripts = defineScripts(this.client);
		this.openExceptionsEverywhere = openExceptionsEverywhere(this.keyPrefix);
		this.eviction = new EvictionGate(this.client, this.target, settings.allowEviction === true);
		this.durable = new DurabilityMonitor(this.client, this.target, durabilitySettings(settings));
		this.replicas = new ReplicaWait(this.client, replicaTimeout(settings.replicaTimeoutMs));
		const spreads = this.client instanceof Cluster || (this.client as { isCluster?: boolean }).isCluster === true;
		this.layouts = new LayoutResolver(this.keyPrefix, this.scripts.layout, spreads ? CLUSTER_BUCKETS : 1);
	}

	/** The namespace's own (one-slot) keys. */
	private keys(namespace: string): NamespaceKeys {
		return new NamespaceKeys(this.keyPrefix, namespace);
	}

	/** Cluster hook: the namespace's layout — its buckets, or its one slot (buckets.ts) — to write in. */
	private layout(namespace: string): Promise<NamespaceLayout> {
		return this.layouts.resolve(namespace, 'write');
	}

	/** Cluster hook: the layout to read in; a read of a namespace no write has decided writes no marker. */
	private readLayout(namespace: string): Promise<NamespaceLayout> {
		return this.layouts.resolve(namespace, 'read');
	}

	/**
	 * A cluster client gives up for good after its retries (so that calls fail fast while the
	 * cluster is down); the next call starts it again, so a pooled store recovers on its own.
	 */
	protected async prepare(): Promise<void> {
		if (this.ownsClient && !this.closed && this.client instanceof Cluster && this.client.status === 'end') {
			await this.client.connect().catch(() => undefined);
		}
	}

	protected translateError(error: unknown, doing: string): Error {
		return translateError(error, this.target, doing, this.lastConnectionError);
	}

	/** Before the first write to a namespace: the trigger's "every namespace" must know it. */
	private async register(namespace: string): Promise<void> {
		if (this.registered.has(namespace)) return;
		await this.client.sadd(namespacesEverywhere(this.keyPrefix), namespace);
		this.registered.add(namespace);
	}

	protected async serverTime(): Promise<number> {
		const [seconds, micros] = await this.client.time();
		return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
	}

	protected async claimChunk(namespace: string, requests: ClaimRequest[], policy: ClaimPolicy, actor: Actor, now: number | null): Promise<ClaimDecision[]> {
		await this.eviction.ensureSafe();
		await this.durable.ensureSafe();
		await this.register(namespace);
		// Cluster hook: one claim script per bucket, in parallel; each key is claimed in its bucket.
		// A chunk is all or nothing (the caller undoes only chunks that succeeded): when one bucket's
		// call fails, the claims the other buckets took are undone before the failure is reported
		// (best effort, as claims.ts does it: when the undo fails too, the leases run out).
		return (await this.layout(namespace)).allOrNothing(
			requests,
			(request) => request.key,
			(keys, chunk) => this.claimInSlot(keys, chunk, policy, actor, now),
			async (keys, _chunk, decisions) => {
				const taken = restoreRequestsOf(decisions);
				if (taken.length > 0) await this.restoreInSlot(keys, taken, actor, now);
			},
		);
	}

	private async claimInSlot(keys: NamespaceKeys, requests: ClaimRequest[], policy: ClaimPolicy, actor: Actor, now: number | null): Promise<ClaimDecision[]> {
		const scriptKeys = [...keys.scriptKeys];
		const args: ScriptArg[] = [
			nowArg(now),
			...claimPolicyArgs(policy),
			...actorArgs(actor),
		];
		const tokens = requests.map(() => randomUUID());
		requests.forEach((request, i) => {
			scriptKeys.push(keys.record(request.key), keys.history(request.key));
			args.push(request.key, tokens[i], claimItemArg(request));
		});
		const { reply, confirmed } = await this.written(keys, (scripts) => scripts.claim(scriptKeys, args));
		const [scriptNow, ...replies] = reply as [number, ...unknown[]];
		const decisions = requests.map((request, i) => toClaimDecision(request.key, tokens[i], Number(scriptNow), policy.leaseMs, replies[i]));
		if (confirmed) return decisions;
		// Not confirmed by the replicas: a failover could forget the claim, so the item is never New.
		// The claim stays on the primary; its lease runs out like a crashed execution's — unless the
		// input fails, which undoes it with the other claims (`unconfirmed`).
		await this.uncountNew(keys, Number(scriptNow), decisions);
		return decisions.map((d): ClaimDecision => {
			const unconfirmed = restoreRequestOf(d);
			return unconfirmed ? { ...d, outcome: 'ambiguous', reason: Reason.notReplicated, claimToken: null, prior: undefined, unconfirmed } : d;
		});
	}

	/**
	 * claim.lua counted the claims the replicas did not confirm as `new`; the Guard routes them to
	 * Ambiguous: lua/not_replicated.lua moves their counts to `ambiguous:not_replicated`, in the
	 * slot the claim ran in. Best effort, not waited for by replicas: stats are approximate across a
	 * failover, and a failure here leaves the claim's `new` counted rather than failing a decided
	 * claim. Its reply is waited for at most one Replica Timeout: it runs on the main connection,
	 * which in a failover may answer nothing until the command timeout (15 s) — the decided claim
	 * is not held that long (the correction goes on, and a read after it on that connection still
	 * comes after it).
	 */
	private async uncountNew(keys: NamespaceKeys, scriptNow: number, decisions: ClaimDecision[]): Promise<void> {
		const taken = decisions.flatMap((d) => (d.outcome === 'new' && d.claimToken ? [{ key: d.key, token: d.claimToken }] : []));
		if (taken.length === 0) return;
		const scriptKeys = [...keys.scriptKeys, ...taken.map((claim) => keys.record(claim.key))];
		await settledWithin(this.scripts.not_replicated(scriptKeys, [scriptNow, ...taken.map((claim) => claim.token)]), this.replicas.timeoutMs);
	}

	/**
	 * Runs a writing script; when writes wait for replicas (durability.ts says how many), on a lane
	 * of its own followed by WAIT (replication.ts). `retries`: more WAITs when they fall short.
	 */
	private async written<T>(keys: NamespaceKeys, send: (scripts: Scripts) => Promise<T>, retries = 0): Promise<Replicated<T>> {
		const required = (await this.durable.current()).waitFor;
		if (required === 0) return { reply: await send(this.scripts), confirmed: true, required: 0, acked: 0 };
		const result = await this.replicas.write(required, keys.scriptKeys[0], send, retries);
		// A replica gone or behind: read the replication state again before the next write.
		if (!result.confirmed) this.durable.stale();
		return result;
	}

	/** A write that is not a claim: the replicas are waited for twice, then it fails as not confirmed. */
	private async settled<T>(keys: NamespaceKeys, doing: string, send: (scripts: Scripts) => Promise<T>): Promise<T> {
		const result = await this.written(keys, send, 1);
		if (!result.confirmed) throw notReplicatedError(this.target, doing, result, this.replicas.timeoutMs);
		return result.reply;
	}

	protected async transitionChunk(namespace: string, requests: TransitionRequest[], actor: Actor, now: number | null): Promise<TransitionResult[]> {
		// Cluster hook: one transition script per bucket, in parallel.
		return (await this.layout(namespace)).perBucket(requests, (request) => request.key, (keys, chunk) => this.transitionInSlot(namespace, keys, chunk, actor, now));
	}

	private async transitionInSlot(namespace: string, keys: NamespaceKeys, requests: TransitionRequest[], actor: Actor, now: number | null): Promise<TransitionResult[]> {
		const scriptKeys = [...keys.scriptKeys];
		const args: ScriptArg[] = [nowArg(now), ...actorArgs(actor)];
		for (const request of requests) {
			scriptKeys.push(keys.record(request.key), keys.history(request.key));
			args.push(request.key, transitionFlags(request), nullableArg(request.claimToken), nullableArg(transitionPayload(request)), request.retentionMs);
		}
		const replies = (await this.settled(keys, 'the transitions', (scripts) => scripts.transition(scriptKeys, args))) as unknown[];
		return requests.map((request, i) => toTransitionResult(namespace, request.key, replies[i]));
	}

	/** See lua/restore.lua. */
	protected async restoreChunk(namespace: string, requests: RestoreRequest[], actor: Actor, now: number | null): Promise<boolean[]> {
		// Cluster hook: one restore script per bucket, in parallel.
		return (await this.layout(namespace)).perBucket(requests, (request) => request.key, (keys, chunk) => this.restoreInSlot(keys, chunk, actor, now));
	}

	private async restoreInSlot(keys: NamespaceKeys, requests: RestoreRequest[], actor: Actor, now: number | null): Promise<boolean[]> {
		const scriptKeys = [...keys.scriptKeys];
		const args: ScriptArg[] = [nowArg(now), ...actorArgs(actor)];
		for (const request of requests) {
			scriptKeys.push(keys.record(request.key), keys.history(request.key));
			args.push(request.key, request.claimToken, request.prior === null ? '' : JSON.stringify(request.prior));
		}
		const replies = (await this.settled(keys, 'the undo of claims', (scripts) => scripts.restore(scriptKeys, args))) as number[];
		return replies.map((reply) => Number(reply) === 1);
	}

	protected async readRecord(namespace: string, key: string): Promise<KeyRecord | null> {
		return toRecord(namespace, key, await this.client.hgetall((await this.readLayout(namespace)).keysOf(key).record(key)));
	}

	protected async readHistory(namespace: string, key: string): Promise<HistoryEntry[]> {
		// compactRuns: entries an earlier version wrote one per duplicate read as one run.
		return compactRuns((await this.client.lrangeBuffer((await this.readLayout(namespace)).keysOf(key).history(key), 0, -1)).map(toHistoryEntry));
	}

	/** Pages through an index (bucketReads.ts); a page may come back short, with a cursor. */
	protected async pageIndex(namespace: string, query: IndexQuery): Promise<IndexPage> {
		// Cluster hook: one reader per bucket, merged into one walk.
		return pageBuckets(this.client, this.scripts.forget, (await this.readLayout(namespace)).buckets, namespace, query);
	}

	protected async countEvents(namespace: string, since: number, until: number): Promise<EventTally> {
		// Cluster hook: one stats script per bucket, summed.
		return countBuckets(this.scripts.stats, (await this.readLayout(namespace)).buckets, since, until);
	}

	protected async purgeExpired(namespace: string, at: number): Promise<PurgeResult> {
		// Cluster hook: every bucket is purged, in parallel.
		return purgeBuckets(this.client, this.scripts.purge, (await this.readLayout(namespace)).buckets, at);
	}

	/**
	 * The cross-namespace index is written after the script: when that write fails the call fails,
	 * and the next occurrence of the exception writes it again. On a cluster a chunk is all or
	 * nothing: when one bucket's call fails, each bucket that answered is taken back
	 * (exceptionWrites.ts), best effort — the index is written for its exceptions first, so that
	 * those an undo leaves open are listed (listOpenExceptions drops the ids of those it removed).
	 */
	protected async recordExceptionChunk(
		namespace: string,
		grouping: ExceptionGrouping,
		entries: DistinctException[],
		actor: Actor,
		now: number | null,
	): Promise<ExceptionRecord[]> {
		await this.register(namespace);
		const head: ScriptArg[] = [nowArg(now), namespace, ...actorArgs(actor)];
		// Cluster hook: one script per bucket, in parallel; a key's exceptions are in its bucket.
		const recorded = await (await this.layout(namespace)).allOrNothing(
			entries,
			(entry) => entry.request.key,
			(keys, chunk) => this.settled(keys, 'recording exceptions', (scripts) => recordInSlot(scripts.record_exceptions, keys, head, grouping, chunk)),
			async (keys, chunk, done) => {
				await this.indexOpenExceptions(done.map((d) => d.exception)).catch(() => undefined);
				await this.settled(keys, 'taking back exceptions', (scripts) => unrecordInSlot(scripts.unrecord_exceptions, keys, grouping, chunk, done));
			},
		);
		const exceptions = recorded.map((r) => r.exception);
		await this.indexOpenExceptions(exceptions);
		return exceptions;
	}

	private async indexOpenExceptions(exceptions: ExceptionRecord[]): Promise<void> {
		await this.client.zadd(this.openExceptionsEverywhere, ...exceptions.flatMap((exception) => [exception.firstSeenAt, exception.id]));
	}

	/**
	 * By id: the id names the namespace, its key is looked up (it never changes), then one script
	 * resolves and acts on the key. An id that cannot be one, or that no exception has, resolves
	 * nothing and reports no record.
	 */
	protected async resolve(request: ResolveExceptionRequest, actor: Actor, now: number | null): Promise<ResolveExceptionResult> {
		let namespace = request.namespace!;
		let key = request.key!;
		let uuid = '';
		let keys: NamespaceKeys;
		if (request.id !== null) {
			const parsed = parseExceptionId(request.id);
			if (!parsed) return { exceptions: [], record: null };
			// The id names the slot (the namespace's, or its bucket's) that holds the exception and its key.
			keys = keysOfException(this.keyPrefix, parsed);
			const found = await this.client.get(keys.exceptionKey(parsed.uuid));
			if (found === null) return { exceptions: [], record: null };
			({ namespace, uuid } = parsed);
			key = found;
		} else {
			// Nothing is open in a namespace no write has decided: nothing changes (lua/resolve_exception.lua).
			keys = (await this.readLayout(namespace)).keysOf(key);
		}
		const scriptKeys = [...keys.scriptKeys, keys.record(key), keys.history(key), keys.exceptions(key), keys.openExceptions(key)];
		const args: ScriptArg[] = [
			nowArg(now),
			...actorArgs(actor),
			key,
			uuid,
			request.resolution,
			nullableArg(request.resolvedBy),
			nullableArg(request.note),
			nullableArg(request.resultJson),
			request.force === true ? '1' : '0',
			request.resolvedVia ?? 'person',
			nullableArg(request.claimToken ?? null),
			request.endedBy === null || request.endedBy === undefined ? '' : String(request.endedBy),
			request.actOnKey === true ? '1' : '0',
		];
		const [resolved, record, refused] = (await this.settled(keys, 'resolving the exception', (scripts) => scripts.resolve_exception(scriptKeys, args))) as [
			string[],
			string[],
			ResolveRefusal | null | undefined,
		];
		const exceptions = resolved.map(toException);
		if (exceptions.length > 0) {
			// Best effort: listOpenExceptions drops the ids of resolved exceptions it meets anyway.
			await this.client.zrem(this.openExceptionsEverywhere, ...exceptions.map((exception) => exception.id)).catch(() => undefined);
		}
		return { exceptions, record: toRecord(namespace, key, record), refused: refused ?? null };
	}

	private readExceptions(refs: ExceptionRef[]): Promise<Array<ExceptionRecord | null>> {
		return readExceptions(this.client, this.keyPrefix, refs);
	}

	protected async readException(id: string): Promise<ExceptionRecord | null> {
		const parsed = parseExceptionId(id);
		return parsed ? (await this.readExceptions([parsed]))[0] : null;
	}

	/** Ids that are resolved or gone are dropped from the cross-namespace index on the way (exceptionReads.ts). */
	protected async readOpenExceptions(query: OpenExceptionsQuery): Promise<ExceptionRecord[]> {
		const namespace = query.namespace;
		// Cluster hook: a namespace's open exceptions are in each of its buckets, merged into one walk.
		const indexes: OpenIndex[] =
			namespace === null
				? [{ index: this.openExceptionsEverywhere, ref: (id) => parseExceptionId(id) }]
				: (await this.readLayout(namespace)).buckets.map((keys) => ({ index: keys.openExceptionsIndex, ref: (uuid) => ({ uuid, namespace, suffix: keys.suffix }) }));
		const { found, stale } = await readOpenExceptions(this.client, indexes, query, (refs) => this.readExceptions(refs));
		if (query.namespace === null && stale.length > 0) await this.client.zrem(this.openExceptionsEverywhere, ...stale);
		return found;
	}

	/** Reads every asked namespace in parallel; a namespace never seen has empty indexes. */
	private async feed<T>(query: FeedQuery, read: (keys: NamespaceKeys, namespace: string) => Promise<Array<FeedEntry<T>>>): Promise<T[]> {
		return mergeEvents(await this.inEveryBucket(query.namespace, read), query.limit);
	}

	/** Reads one namespace, or every registered one (null), in each of its buckets, in parallel. */
	private async inEveryBucket<T>(namespace: string | null, read: (keys: NamespaceKeys, namespace: string) => Promise<T>): Promise<T[]> {
		if (namespace === null) {
			this.adopted ??= adoptNamespaces(this.client, this.keyPrefix).catch((error) => {
				this.adopted = null;
				throw error;
			});
			await this.adopted;
		}
		const namespaces = await feedNamespaces(this.client, this.keyPrefix, namespace);
		// Cluster hook: every bucket of every namespace is read.
		const perBucket = await Promise.all(
			namespaces.map(async (name) => Promise.all((await this.readLayout(name)).buckets.map((keys) => read(keys, name)))),
		);
		return perBucket.flat();
	}

	/** One report.lua call per bucket of every namespace asked for, summed (replies.ts). */
	protected async readReport(namespace: string | null, firstHour: number, lastHour: number): Promise<ReportTally> {
		const tallies = await this.inEveryBucket(namespace, async (keys, name) => {
			const tally = toReportTally(await this.scripts.report(keys.scriptKeys, [firstHour, lastHour]));
			if (tally.oldest) {
				// The key is named by the exception's xid (keys.ts); an exception gone meanwhile is no oldest.
				const key = await this.client.get(keys.exceptionKey(tally.oldest.uuid));
				if (key !== null) tally.oldestOpen = { id: exceptionId(tally.oldest.uuid, keys), namespace: name, key, firstSeenAt: tally.oldest.firstSeenAt };
			}
			return tally;
		});
		return sumReportTallies(tallies);
	}

	protected async readStuckClaims(query: FeedQuery): Promise<KeyRecord[]> {
		return this.feed(query, (keys, namespace) => readStuckIndex(this.client, keys, namespace, query));
	}

	protected async readExceptionsSeen(query: FeedQuery): Promise<ExceptionRecord[]> {
		return this.feed(query, (keys, namespace) => readSeenIndex(this.client, keys, namespace, query, (refs) => this.readExceptions(refs)));
	}

	async health(): Promise<StoreHealth> {
		const warnings: string[] = [];
		/** Risks the credential accepts: said in the message of a green test. */
		const accepted: string[] = [];
		let report: RedisDurabilityReport;
		try {
			await this.run('checking the connection', () => this.client.ping());
			// Proves that this user may run the scripts on keys under the prefix, without writing.
			await this.run('running a read-only script', () => this.scripts.stats(this.keys('health-check').scriptKeys, [0, 0]));
			const verdict = await this.run('reading the eviction policy', () => this.eviction.read());
			if (!verdict.safe && !this.eviction.allowEviction) return { ok: false, message: messageWithHint(evictionError(this.target, verdict)) };
			if (!verdict.safe) accepted.push(`${this.target} ${verdict.problem} "Allow Eviction" is on: claims go ahead and you accept that risk.`);
			this.durable.stale();
			report = await this.run('reading its persistence and replicas', () => this.durable.current());
		} catch (error) {
			return { ok: false, message: messageWithHint(error) };
		}
		const refused = report.findings.filter((f) => f.level === 'refuse' && !f.accepted);
		if (refused.length > 0) return { ok: false, message: refused.map((f) => describeFinding(this.target, f)).join(' ') };
		const unaccepted = report.findings.filter((f) => !f.accepted);
		warnings.push(...unaccepted.map((f) => describeFinding(this.target, f)));
		// What is safe and what the user accepted, said in the message of a green test too.
		const said = [
			...report.notes,
			...[...accepted, ...report.findings.filter((f) => f.accepted).map((f) => describeFinding(this.target, f))].map((text) => `Accepted in the credential: ${text}`),
		];
		return {
			ok: true,
			message: [`Connected to ${this.target}; keys are stored under "${this.keyPrefix}".`, ...said].join(' '),
			...(warnings.length > 0 ? { warning: warnings.join(' ') } : {}),
		};
	}

	/** See durability.ts: read at first use, on every reconnect and once a minute. */
	async durability(): Promise<RedisDurabilityReport> {
		return this.run('reading its persistence and replicas', () => this.durable.current());
	}

	async close(): Promise<void> {
		this.closed = true;
		this.client.off('error', this.onError);
		this.client.off('ready', this.onReady);
		this.client.off('+node', this.onNodeChange);
		this.client.off('-node', this.onNodeChange);
		this.replicas.close();
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

function isClient(source: unknown): source is Redis | Cluster {
	return source instanceof Redis || source instanceof Cluster || typeof (source as { defineCommand?: unknown }).defineCommand === 'function';
}

function describeClient(client: Redis | Cluster): string {
	if (client instanceof Cluster || (client as { isCluster?: boolean }).isCluster) return 'the Redis Cluster';
	const { host, port } = (client as Redis).options ?? {};
	return `Redis at ${host ?? 'localhost'}:${port ?? 6379}`;
}

function definedOnly<T extends object>(options: T): Partial<T> {
	return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function durabilitySettings(settings: Settings): DurabilitySettings {
	const wait = settings.waitForReplicas;
	return {
		allowNoPersistence: settings.allowNoPersistence === true,
		acceptCrashLoss: settings.acceptCrashLoss === true,
		requireDurability: settings.requireDurability === true,
		waitForReplicas: typeof wait === 'number' && Number.isInteger(wait) && wait >= 0 ? (wait === 0 ? 'none' : wait) : wait === 'none' ? 'none' : 'auto',
	};
}

/** The credential's replica timeout, within (0, MAX_REPLICA_TIMEOUT_MS]. */
function replicaTimeout(ms: number | undefined): number {
	return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? Math.min(Math.floor(ms), MAX_REPLICA_TIMEOUT_MS) : DEFAULT_REPLICA_TIMEOUT_MS;
}
