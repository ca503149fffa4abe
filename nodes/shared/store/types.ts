// The one contract every store adapter (Postgres, Redis, embedded) fulfils. Decision rules live in
// the engine and in each adapter's single atomic script, input policy in base/BaseStore.ts; this
// file only names shapes and the lists they draw from. Times are epoch milliseconds everywhere.
// Nothing here imports n8n-workflow, nor any adapter: the adapters depend on this file, never the
// other way round (backends.ts names each kind's class).

/**
 * Every store kind, in the order the Store parameter lists them (contract: the values are the
 * Store parameter's). backends.ts has exactly one row per kind; the type system holds it to this list.
 */
export const STORE_KINDS = ['postgres', 'redis', 'embedded'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Every state a record can be in; the type and the object below derive from this list. */
export const RECORD_STATES = ['received', 'processing', 'processed', 'failed'] as const;
export type RecordState = (typeof RECORD_STATES)[number];
export const RecordState = Object.fromEntries(RECORD_STATES.map((state) => [state, state])) as {
	readonly [S in RecordState]: S;
};

export type Outcome = 'new' | 'duplicate' | 'ambiguous';

/** Why the Guard decided what it decided (docs/CONTRACT.md §5, contract: never rename a value). */
export const Reason = {
	firstSeen: 'first_seen',
	inProgress: 'in_progress',
	leaseExpired: 'lease_expired',
	reclaimed: 'reclaimed',
	alreadyProcessed: 'already_processed',
	payloadMismatch: 'payload_mismatch',
	retryAfterFailure: 'retry_after_failure',
	previouslyFailed: 'previously_failed',
	maxAttempts: 'max_attempts',
	missingKey: 'missing_key',
	duplicateInBatch: 'duplicate_in_batch',
	storeUnavailable: 'store_unavailable',
	/** A key in the hashed form has a record stored as written by an earlier version (keys.ts legacyKeyOf). */
	legacyKey: 'legacy_key',
	/** The store took the claim, but its replicas did not confirm it in time: a failover could forget it. */
	notReplicated: 'not_replicated',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Reasons only a Router route gives (never a Guard decision): set on a failed path's items (§7, contract). */
export const ROUTE_REASONS = ['write_failed', 'write_timeout', 'custom'] as const;
/** Every reason code an exception can have: the Guard's decisions and the Router's own. Their words: engine/reasonTexts.ts. */
export type ReasonCode = Reason | (typeof ROUTE_REASONS)[number];

/** Reason codes a Router rule can match, in the order the editor lists them. */
export const ROUTABLE_REASONS: readonly ReasonCode[] = [
	'payload_mismatch',
	'lease_expired',
	'in_progress',
	'missing_key',
	'max_attempts',
	'previously_failed',
	'duplicate_in_batch',
	'store_unavailable',
	'legacy_key',
	'not_replicated',
	'write_failed',
	'write_timeout',
	'custom',
];

/** Why the State Ledger refused a transition (docs/CONTRACT.md §6, contract). */
export const REJECT_REASONS = ['claim_lost', 'invalid_transition', 'not_found'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * Why the Router's Resolve changed nothing (docs/CONTRACT.md §7, contract): `live_claim` — a replay of a key whose claim is still live;
 * `claim_changed` — a Reconcile's replay, but the key no longer carries the claim that was looked
 * up (claimed again, or settled meanwhile); `lookup_too_early` — a Reconcile's replay on a lookup
 * made before the claim's end plus the settle delay.
 */
export const RESOLVE_REFUSALS = ['live_claim', 'claim_changed', 'lookup_too_early'] as const;
export type ResolveRefusal = (typeof RESOLVE_REFUSALS)[number];

/** Events of a key's history (docs/CONTRACT.md §6, contract). */
export const HistoryEvent = {
	claimed: 'claimed',
	duplicateSeen: 'duplicate_seen',
	ambiguousSeen: 'ambiguous_seen',
	processed: 'processed',
	failed: 'failed',
	received: 'received',
	released: 'released',
	reclaimed: 'reclaimed',
	forced: 'forced',
} as const;
export type HistoryEvent = (typeof HistoryEvent)[keyof typeof HistoryEvent];

/** Who acted: written into every history event. */
export interface Actor {
	workflowId: string | null;
	executionId: string | null;
	node: string | null;
}

/**
 * How the store decides a claim. `onInProgress: 'pending'` is the Guard's `wait` mode: a
 * claim that is in progress is reported as `pending`, changes nothing and writes no history,
 * so the Guard can poll and decide later.
 */
export interface ClaimPolicy {
	leaseMs: number;
	/** 0 = remember processed/failed records forever. */
	retentionMs: number;
	onInProgress: (typeof POLICY_CHOICES.onInProgress)[number];
	onLeaseExpired: (typeof POLICY_CHOICES.onLeaseExpired)[number];
	onFailed: (typeof POLICY_CHOICES.onFailed)[number];
	maxAttempts: number;
	onPayloadMismatch: (typeof POLICY_CHOICES.onPayloadMismatch)[number];
}

/** The policy in the order every claim script takes it: sql/claim.sql $5–$11, lua/claim.lua ARGV[2–8]. */
export const claimPolicyArgs = (policy: ClaimPolicy) =>
	[policy.leaseMs, policy.retentionMs, policy.onInProgress, policy.onLeaseExpired, policy.onFailed, policy.maxAttempts, policy.onPayloadMismatch] as const;

/** The choices of each ClaimPolicy option that is one. */
export const POLICY_CHOICES = {
	onInProgress: ['ambiguous', 'duplicate', 'pending'],
	onLeaseExpired: ['ambiguous', 'reclaim'],
	onFailed: ['retry', 'ambiguous'],
	onPayloadMismatch: ['ambiguous', 'duplicate'],
} as const;

export interface ClaimRequest {
	key: string;
	/** sha256 hex of the canonical payload, or null when fingerprinting is off. */
	fingerprint: string | null;
	/**
	 * Later items of the same input with this key (decided `duplicate_in_batch` by the Guard, not
	 * by the store): the store appends their history events in the same round trip —
	 * `duplicates` as `duplicate_seen`, `mismatches` (other fingerprint) as `ambiguous_seen`.
	 */
	repeats?: { duplicates: number; mismatches: number };
}

export interface ClaimDecision {
	key: string;
	outcome: Outcome | 'pending';
	reason: Reason;
	/** The record's state after the decision. */
	state: RecordState;
	attempt: number;
	/** Set only when the outcome is `new`: the token that proves this execution owns the key. */
	claimToken: string | null;
	firstSeenAt: number;
	lastSeenAt: number;
	leaseUntil: number | null;
	result: unknown;
	/**
	 * Only when the outcome is `new`: the record this claim found, as the store's own image (pass
	 * it back to `restore` untouched); null when the key had none.
	 */
	prior?: RecordImage | null;
	/**
	 * Only on an Ambiguous `not_replicated` decision (Redis): the claim this call made, which stays
	 * on the primary because its replicas did not confirm it. Never for the workflow (it may not
	 * settle the key); for undoing it like a `new` claim when the rest of the input fails
	 * (restoreRequestsOf), so that the key is not left in progress until the lease runs out.
	 */
	unconfirmed?: RestoreRequest;
}

/** A record as one store holds it, for putting it back exactly; opaque outside that store. */
export type RecordImage = Record<string, unknown>;

/** Undo of one claim: the key gets `prior` back while it still carries `claimToken`. */
export interface RestoreRequest {
	key: string;
	claimToken: string;
	/** The claim's `prior`; null deletes the key (it had no record before the claim). */
	prior: RecordImage | null;
}

export interface KeyRecord {
	namespace: string;
	key: string;
	state: RecordState;
	attempt: number;
	claimToken: string | null;
	fingerprint: string | null;
	result: unknown;
	lastError: string | null;
	firstSeenAt: number;
	lastSeenAt: number;
	updatedAt: number;
	leaseUntil: number | null;
	/** When a processed/failed record is forgotten; null = never (or not settled yet). */
	expiresAt: number | null;
	duplicateCount: number;
	workflowId: string | null;
	executionId: string | null;
}

export interface HistoryEntry {
	at: number;
	event: HistoryEvent;
	reason: string | null;
	workflowId: string | null;
	executionId: string | null;
	node: string | null;
	/** Extra facts, e.g. `{ from: 'processing', to: 'processed' }` for a forced move. */
	detail?: Record<string, unknown> | null;
	/**
	 * A `duplicate_seen` entry is a run of consecutive duplicates (any other event ends it): `at`
	 * is the first, `lastAt` the last, `count` how many. Absent on other events.
	 */
	lastAt?: number;
	count?: number;
}

/** The State Ledger's transitions (contract: the Ledger's operation names). */
export const TRANSITION_KINDS = ['markProcessed', 'markFailed', 'markReceived', 'release'] as const;
export type TransitionKind = (typeof TRANSITION_KINDS)[number];

export interface TransitionRequest {
	kind: TransitionKind;
	key: string;
	claimToken: string | null;
	/** When true, moving a key out of `processing` needs the matching claim token. */
	verifyClaim: boolean;
	/** Operator override: any state may move, recorded as a `forced` event. */
	force: boolean;
	/** JSON text stored on markProcessed (already size-checked), or null. */
	resultJson?: string | null;
	errorMessage?: string | null;
	/**
	 * Retention for a record this transition creates (markReceived, or a forced move of an unknown
	 * key); a claimed record keeps the retention its claim set. 0 = forever.
	 */
	retentionMs: number;
}


export interface TransitionResult {
	key: string;
	applied: boolean;
	/** True when the same transition had already been applied with the same token. */
	noop: boolean;
	rejectReason: RejectReason | null;
	/** The record after the transition (null once released or when not found). */
	record: KeyRecord | null;
}

export interface ListQuery {
	state?: RecordState | null;
	/** Only `processing` records whose lease has expired. */
	stuckOnly?: boolean;
	/** Only records last updated at least this long ago. */
	olderThanMs?: number | null;
	limit: number;
	cursor?: string | null;
}

export interface ListPage {
	records: KeyRecord[];
	nextCursor: string | null;
}

export interface NamespaceStats {
	namespace: string;
	since: number;
	until: number;
	new: number;
	duplicate: number;
	ambiguous: number;
	ambiguousByReason: Record<string, number>;
	processed: number;
	failed: number;
	released: number;
	openExceptions: number;
}

/** How a report groups its hours (docs/CONTRACT.md §13 "Report"): UTC hours, UTC days, weeks from Monday 00:00 UTC. */
export const REPORT_BUCKETS = ['hour', 'day', 'week'] as const;
export type ReportBucketSize = (typeof REPORT_BUCKETS)[number];

export interface ReportRequest {
	/** null = every namespace. */
	namespace: string | null;
	/** The window [until - sinceMs, until], read as whole hours like stats. */
	sinceMs: number;
	bucket: ReportBucketSize;
}

/** What happened in one bucket (or the whole window). */
export interface ReportFigures {
	/** Every delivery the Guard decided: new + duplicates + ambiguous. */
	deliveries: number;
	new: number;
	/** Duplicates stopped (already processed, or repeated in one batch). */
	duplicates: number;
	ambiguous: number;
	processed: number;
	failed: number;
	/** Marked processed on a later attempt than the first (a retry that then succeeded). */
	retriesSucceeded: number;
	exceptionsOpened: number;
	exceptionsResolved: number;
	resolvedByPerson: number;
	resolvedFromSlack: number;
	resolvedByReconcile: number;
	/** Open time of the exceptions resolved in the bucket, ms, nearest rank; null when none was. */
	timeToResolveMedianMs: number | null;
	timeToResolveP90Ms: number | null;
}

export interface ReportBucket extends ReportFigures {
	/** Epoch ms of the bucket's start and of the next bucket's start. */
	start: number;
	end: number;
}

export interface OldestOpenException {
	id: string;
	namespace: string;
	key: string;
	firstSeenAt: number;
}

export interface NamespaceReport {
	/** null = every namespace. */
	namespace: string | null;
	since: number;
	until: number;
	bucket: ReportBucketSize;
	/** Every bucket that overlaps the window, oldest first, empty ones included. */
	buckets: ReportBucket[];
	total: ReportFigures;
	/** Open exceptions now, and the one open longest. */
	openExceptions: number;
	oldestOpen: OldestOpenException | null;
}

export interface PurgeResult {
	records: number;
	history: number;
}

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
/**
 * How an exception was closed (docs/CONTRACT.md §7, §13): the three a person chooses, and
 * `reconciled` — a Reconcile found the write in the target system (the key forced processed with
 * what it found, like `markProcessed`; a key already processed is left as it is).
 */
export const RESOLUTIONS = ['replay', 'markProcessed', 'discard', 'reconciled'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
/** The resolutions a person picks (Resolve, the Slack buttons). */
export const PERSON_RESOLUTIONS = ['replay', 'markProcessed', 'discard'] as const satisfies readonly Resolution[];
/** Who or what resolved an exception (docs/CONTRACT.md §13): the Resolve operation, a Slack button, a Reconcile. */
export const RESOLVED_VIA = ['person', 'slack', 'reconcile'] as const;
export type ResolvedVia = (typeof RESOLVED_VIA)[number];
/**
 * How the Router counts open exceptions (docs/CONTRACT.md §12): `keyAndReason` — one open exception per
 * (namespace, key, reason), as §7; `key` — one open incident per (namespace, key), its reasons listed.
 */
export const EXCEPTION_GROUPINGS = ['keyAndReason', 'key'] as const;
export type ExceptionGrouping = (typeof EXCEPTION_GROUPINGS)[number];

/** Something a person must decide, remembered once per open (namespace, key, reason). */
export interface ExceptionRecord {
	id: string;
	namespace: string;
	key: string;
	reason: string;
	owner: string;
	severity: Severity;
	/** The Router output (rule) it went to. */
	route: string;
	status: 'open' | 'resolved';
	/** Every reason this exception was recorded with, first seen first (`[reason]` per (key, reason)). */
	reasons: string[];
	groupBy: ExceptionGrouping;
	occurrences: number;
	firstSeenAt: number;
	lastSeenAt: number;
	workflowId: string | null;
	executionId: string | null;
	resolution: Resolution | null;
	resolvedBy: string | null;
	/** Null while open; exceptions resolved before `resolvedVia` existed read as `person`. */
	resolvedVia: ResolvedVia | null;
	resolvedAt: number | null;
	note: string | null;
}

export interface OpenExceptionRequest {
	key: string;
	reason: string;
	owner: string;
	severity: Severity;
	route: string;
	/** Default `keyAndReason`. */
	groupBy?: ExceptionGrouping;
}

export interface ResolveExceptionRequest {
	/** The exception to resolve; or, when null, the open exceptions of (namespace, key). */
	id: string | null;
	namespace: string | null;
	key: string | null;
	resolution: Resolution;
	resolvedBy: string | null;
	note: string | null;
	/** With resolution markProcessed: the result later duplicates receive (JSON text). */
	resultJson: string | null;
	/** Replay even a live claim (`processing`, lease valid); recorded as `forced`. */
	force?: boolean;
	/** Default `person`. Stored on the exceptions and in the key's history. */
	resolvedVia?: ResolvedVia;
	/**
	 * A Reconcile's replay (the write was not found): release only while the key still carries
	 * this claim token (a `processing` or `failed` key with another token is refused
	 * `claim_changed`). Null: not checked.
	 */
	claimToken?: string | null;
	/**
	 * A Reconcile's replay: release only when the key's claim ended (lease end, or the last update of
	 * a failed key) at or before this time — the lookup's time minus the settle delay — else refused
	 * `lookup_too_early`. A claim taken after the lookup always ends later, so it is never released
	 * on a lookup that could not have seen its write. Null: not checked.
	 */
	endedBy?: number | null;
	/** With (namespace, key): act on the key even when none of its exceptions is open (a stuck claim the Trigger reported has none). */
	actOnKey?: boolean;
}

export interface ResolveExceptionResult {
	/** The exceptions now resolved (empty when none was open, or when refused). */
	exceptions: ExceptionRecord[];
	/** The key's record after the resolution (null once released or unknown). */
	record: KeyRecord | null;
	/**
	 * Why nothing was done although exceptions are open: `live_claim` — a replay of a key whose
	 * claim is still live (a worker may be writing) without `force`. The exceptions stay open.
	 */
	refused?: ResolveRefusal | null;
}

export interface ExceptionQuery {
	namespace?: string | null;
	owner?: string | null;
	reason?: string | null;
	/** Only exceptions first seen at least this long ago. */
	olderThanMs?: number | null;
	limit: number;
}

/**
 * Where a feed of the Idempotency Trigger stands: every event before or at (`at`, `after`) has
 * been handed out. `after` breaks ties at `at` — `[namespace, key]` for stuck claims, `[id]` for
 * exceptions, compared as UTF-8 bytes —; null means every event at `at` is done.
 */
export interface FeedPosition {
	at: number;
	after: string[] | null;
}

export interface FeedQuery {
	/** null = every namespace. */
	namespace: string | null;
	from: FeedPosition;
	/** Events up to and including this time (store clock, epoch ms). */
	until: number;
	limit: number;
}

export interface FeedPage<T> {
	events: T[];
	/** Where the next call starts: after the last event, or at `until` when the page is complete. */
	next: FeedPosition;
}

export interface StoreHealth {
	ok: boolean;
	message: string;
	/** Something the user should know even though the store works (e.g. Redis without persistence). */
	warning?: string;
}

/**
 * How a finding about durability is handled (docs/CONTRACT.md): `refuse` — acknowledged writes are
 * lost in ordinary operation (a Redis that keeps nothing on disk forgets everything on a restart):
 * claims are refused unless the credential accepts the risk; `warn` — loss needs a crash or a
 * failover the setup allows (RDB snapshots only, an asynchronous standby): said in the credential
 * test and as an execution hint; `unknown` — the server would not say (managed services refuse
 * CONFIG): said, treated as a warning.
 */
export const DURABILITY_LEVELS = ['refuse', 'warn', 'unknown'] as const;
export type DurabilityLevel = (typeof DURABILITY_LEVELS)[number];

export interface DurabilityFinding {
	level: DurabilityLevel;
	/** The setting at fault as the server names it, e.g. `appendonly no, save ""`, `synchronous_standby_names ''`. */
	setting: string;
	/** What can be lost, and when, in words. */
	risk: string;
	/** What to change (on the server, or in the credential). */
	fix: string;
	/** The user accepted this risk in the credential: claims go ahead, the credential test is green. */
	accepted?: boolean;
}

/** What a store found out about whether an acknowledged write survives a server crash and a failover. */
export interface DurabilityReport {
	/** No finding that is not accepted. */
	safe: boolean;
	findings: DurabilityFinding[];
	/** When it was read (epoch ms, local clock): a report is read again on reconnect. */
	checkedAt: number;
}

/**
 * A store holds records and history per (namespace, key). Every method that changes state is a
 * single atomic statement or script. `now` overrides the store's clock (tests only); when absent
 * the adapter uses the server's clock so that workers with skewed clocks agree on leases.
 */
export interface IdempotencyStore {
	readonly kind: StoreKind;
	/** Decide up to 1000 claims of distinct keys in one round trip. */
	claim(
		namespace: string,
		requests: ClaimRequest[],
		policy: ClaimPolicy,
		actor: Actor,
		now?: number,
	): Promise<ClaimDecision[]>;
	/** Apply transitions in order, each atomically; one round trip for the whole list. */
	transition(
		namespace: string,
		requests: TransitionRequest[],
		actor: Actor,
		now?: number,
	): Promise<TransitionResult[]>;
	get(namespace: string, key: string): Promise<KeyRecord | null>;
	history(namespace: string, key: string): Promise<HistoryEntry[]>;
	list(namespace: string, query: ListQuery, now?: number): Promise<ListPage>;
	stats(namespace: string, sinceMs: number, now?: number): Promise<NamespaceStats>;
	/**
	 * The figures of a window by hour, day or week (docs/CONTRACT.md §13 "Report"), from the hourly
	 * counters and the exceptions the store keeps; open exceptions as of now.
	 */
	report(request: ReportRequest, now?: number): Promise<NamespaceReport>;
	purge(namespace: string, now?: number): Promise<PurgeResult>;
	/**
	 * Undoes claims (a failed input is all or nothing): each key that is still `processing` with
	 * the request's claim token gets its prior record back exactly — state, attempt, token, lease,
	 * result, expiry, duplicate count — or is deleted when it had none; a `released` event with
	 * reason `rollback` is appended. A key someone changed since is left alone (false).
	 * One round trip per 1000 requests; returns per request whether it was restored.
	 */
	restore(namespace: string, requests: RestoreRequest[], actor: Actor, now?: number): Promise<boolean[]>;
	/**
	 * Opens exceptions, or — while one is open for the same (namespace, key, reason) — counts a
	 * repeat on it (occurrences + 1, lastSeenAt). One round trip for the list.
	 */
	recordExceptions(namespace: string, requests: OpenExceptionRequest[], actor: Actor, now?: number): Promise<ExceptionRecord[]>;
	/**
	 * Resolves atomically: the exception(s) become resolved and the key is acted on — `replay`
	 * releases it (next delivery is new), `markProcessed` forces it to processed with the result,
	 * `discard` leaves it as it is. The key's history records the action with the exception id.
	 */
	resolveException(request: ResolveExceptionRequest, actor: Actor, now?: number): Promise<ResolveExceptionResult>;
	getException(id: string): Promise<ExceptionRecord | null>;
	/** Open exceptions, oldest first. */
	listOpenExceptions(query: ExceptionQuery, now?: number): Promise<ExceptionRecord[]>;
	/** The store's clock, epoch ms: what leases and exception times are measured by. */
	clock(): Promise<number>;
	/**
	 * Claims still `processing` whose lease ran out in (from, until], in (leaseUntil, namespace,
	 * key) order: each (claim, lease) once — a reclaim sets a new lease, so a new event.
	 */
	stuckClaims(query: FeedQuery): Promise<FeedPage<KeyRecord>>;
	/** Open exceptions opened or seen again in (from, until], in (lastSeenAt, id) order. */
	exceptionsSeen(query: FeedQuery): Promise<FeedPage<ExceptionRecord>>;
	health(): Promise<StoreHealth>;
	/** Whether an acknowledged write survives a crash and a failover of the server (see DurabilityReport). */
	durability(): Promise<DurabilityReport>;
	close(): Promise<void>;
}

export const MAX_CHUNK = 1000;
export const MAX_RESULT_BYTES = 64 * 1024;
/** The most records, events or exceptions one list or feed query returns (a larger limit is cut to it). */
export const MAX_LIMIT = 1000;
