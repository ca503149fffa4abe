// The Postgres adapter: marshals calls into the atomic statements under sql/ and rows back into
// the store types. One pg pool per store; migrations run once, before the first call.

import { readFileSync } from 'fs';
import { join } from 'path';
import type { PoolConfig, QueryResultRow } from 'pg';
import { IdempotencyError, StoreUnavailableError } from '../errors';
import { quoteIdentifier, validateSchemaName } from '../identifiers';
import type {
	Actor,
	ExceptionQuery,
	ExceptionRecord,
	FeedPage,
	FeedQuery,
	OpenExceptionRequest,
	ResolveExceptionRequest,
	ResolveExceptionResult,
	ClaimDecision,
	ClaimPolicy,
	ClaimRequest,
	HistoryEntry,
	IdempotencyStore,
	KeyRecord,
	ListPage,
	ListQuery,
	NamespaceStats,
	PurgeResult,
	RecordImage,
	RestoreRequest,
	StoreHealth,
	TransitionRequest,
	TransitionResult,
} from '../types';
import { poolExecutor, type SqlExecutor } from './executor';
import { migrate } from './migrate';
import { counterOf, StatsBuilder } from '../stats';
import { distinctExceptions, groupingOf, inRequestOrder } from '../exceptions';

export interface PostgresStoreConfig {
	host: string;
	port: number;
	database: string;
	user: string;
	password?: string;
	ssl: 'disable' | 'require' | 'verify-full';
	schema: string;
	maxConnections: number;
	/** Overrides host/port/database/user/password (tests, POSTGRES_URL). */
	connectionString?: string;
}

const SQL_DIR = join(__dirname, 'sql');

function loadSql(name: string, quotedSchema: string): string {
	return readFileSync(join(SQL_DIR, `${name}.sql`), 'utf8').split('{{schema}}').join(quotedSchema);
}

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

// Connection-level failures: the store could not be reached or the connection broke mid-call.
const UNAVAILABLE_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'EPIPE',
	'57P01', // admin_shutdown (pg_terminate_backend)
	'57P02',
	'57P03', // cannot_connect_now
	'08000',
	'08003',
	'08006',
	'08001',
	'08004',
]);

export interface PostgresStoreOptions {
	kind: 'postgres' | 'embedded';
	schema: string;
	executor: SqlExecutor;
	/** Where the data is, for error messages: "host:port" or a folder. */
	where: string;
}

export class PostgresStore implements IdempotencyStore {
	readonly kind: 'postgres' | 'embedded';
	readonly schema: string;
	private readonly executor: SqlExecutor;
	private readonly where: string;
	private ready: Promise<void> | null = null;
	private readonly sql: Record<'claim' | 'transition' | 'purge' | 'recordExceptions' | 'restore' | 'recordIncidents' | 'stuckClaims' | 'exceptionsSeen', string>;
	private readonly q: string;

	constructor(options: PostgresStoreConfig | PostgresStoreOptions) {
		// Validate before anything connects.
		this.schema = validateSchemaName(options.schema);
		const resolved = 'executor' in options ? options : fromConfig(options);
		this.kind = resolved.kind;
		this.q = quoteIdentifier(this.schema);
		this.executor = resolved.executor;
		this.where = resolved.where;
		this.sql = {
			claim: loadSql('claim', this.q),
			transition: loadSql('transition', this.q),
			purge: loadSql('purge', this.q),
			recordExceptions: loadSql('record_exceptions', this.q),
			restore: loadSql('restore', this.q),
			recordIncidents: loadSql('record_incidents', this.q),
			stuckClaims: loadSql('stuck_claims', this.q),
			exceptionsSeen: loadSql('exceptions_seen', this.q),
		};
	}

	/** Applies migrations once per store; a failed attempt is retried on the next call. */
	private async ensureReady(): Promise<void> {
		if (!this.ready) {
			this.ready = migrate(this.executor, this.schema)
				.then(() => undefined)
				.catch((error) => {
					this.ready = null;
					throw this.translate(error, 'preparing the idempotency schema');
				});
		}
		return this.ready;
	}

	private async query<R extends QueryResultRow>(text: string, values: unknown[], doing: string, name?: string): Promise<R[]> {
		await this.ensureReady();
		try {
			return await this.executor.query<R>(text, values, name);
		} catch (error) {
			throw this.translate(error, doing);
		}
	}

	private translate(error: unknown, doing: string): Error {
		if (error instanceof IdempotencyError) return error;
		const err = error as { code?: string; message?: string };
		const message = err?.message ?? String(error);
		if (
			(err?.code && UNAVAILABLE_CODES.has(err.code)) ||
			/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
				message,
			)
		) {
			return new StoreUnavailableError(
				`${this.kind === 'embedded' ? 'The embedded store' : 'Postgres'} at ${this.where} is unavailable while ${doing} (${describeConnectionFailure(err?.code, message)})`,
				{ cause: error },
			);
		}
		const label = this.kind === 'embedded' ? 'Embedded store' : 'Postgres';
		return new IdempotencyError(`${label} error while ${doing}: ${message}`, { cause: error });
	}

	async claim(
		namespace: string,
		requests: ClaimRequest[],
		policy: ClaimPolicy,
		actor: Actor,
		now?: number,
	): Promise<ClaimDecision[]> {
		if (requests.length === 0) return [];
		const rows = await this.query(
			this.sql.claim,
			[
				namespace,
				requests.map((r) => r.key),
				requests.map((r) => r.fingerprint),
				now ?? null,
				Math.round(policy.leaseMs),
				Math.round(policy.retentionMs),
				policy.onInProgress,
				policy.onLeaseExpired,
				policy.onFailed,
				policy.maxAttempts,
				policy.onPayloadMismatch,
				actor.workflowId,
				actor.executionId,
				actor.node,
				requests.map((r) => r.repeats?.duplicates ?? 0),
				requests.map((r) => r.repeats?.mismatches ?? 0),
			],
			'claiming keys',
			`idempotency_claim_${this.schema}`,
		);
		const byKey = new Map<string, QueryResultRow>(rows.map((row) => [row.key as string, row]));
		return requests.map((request) => {
			const row = byKey.get(request.key);
			if (!row) throw new IdempotencyError(`Postgres returned no decision for key "${request.key}"`);
			const [outcome, reason] = String(row.decision).split(':');
			return {
				key: request.key,
				outcome: outcome as ClaimDecision['outcome'],
				reason: reason as ClaimDecision['reason'],
				state: row.state,
				attempt: num(row.attempt),
				claimToken: outcome === 'new' ? String(row.claim_token) : null,
				firstSeenAt: num(row.first_seen_at),
				lastSeenAt: num(row.last_seen_at),
				leaseUntil: numOrNull(row.lease_until),
				result: row.result ?? null,
				...(outcome === 'new' ? { prior: (row.prior ?? null) as RecordImage | null } : {}),
			};
		});
	}

	async restore(namespace: string, requests: RestoreRequest[], actor: Actor, now?: number): Promise<boolean[]> {
		if (requests.length === 0) return [];
		const rows = await this.query(
			this.sql.restore,
			[
				namespace,
				requests.map((r) => r.key),
				requests.map((r) => r.claimToken),
				requests.map((r) => (r.prior === null ? null : JSON.stringify(r.prior))),
				now ?? null,
				actor.workflowId,
				actor.executionId,
				actor.node,
			],
			'undoing claims',
		);
		return rows.map((row) => row.restored === true);
	}

	async transition(
		namespace: string,
		requests: TransitionRequest[],
		actor: Actor,
		now?: number,
	): Promise<TransitionResult[]> {
		if (requests.length === 0) return [];
		const rows = await this.query(
			this.sql.transition,
			[
				namespace,
				requests.map((r) => r.key),
				requests.map((r) => r.kind),
				requests.map((r) => r.claimToken),
				requests.map((r) => r.verifyClaim),
				requests.map((r) => r.force),
				requests.map((r) => r.resultJson ?? null),
				requests.map((r) => r.errorMessage ?? null),
				requests.map((r) => Math.round(r.retentionMs)),
				now ?? null,
				actor.workflowId,
				actor.executionId,
				actor.node,
			],
			'recording a transition',
			`idempotency_transition_${this.schema}`,
		);
		return rows.map((row) => ({
			key: row.request_key,
			applied: row.applied === true,
			noop: row.noop === true,
			rejectReason: row.reject_reason ?? null,
			record: row.namespace === null || row.namespace === undefined ? null : toRecord(row),
		}));
	}

	async get(namespace: string, key: string): Promise<KeyRecord | null> {
		const rows = await this.query(
			`SELECT * FROM ${this.q}.records WHERE namespace = $1 AND key = $2`,
			[namespace, key],
			'reading a key',
		);
		return rows.length ? toRecord(rows[0]) : null;
	}

	async history(namespace: string, key: string): Promise<HistoryEntry[]> {
		const rows = await this.query(
			`SELECT at, event, reason, workflow_id, execution_id, node, detail
			 FROM ${this.q}.history WHERE namespace = $1 AND key = $2 ORDER BY id`,
			[namespace, key],
			'reading history',
		);
		return rows.map((row) => ({
			at: num(row.at),
			event: row.event,
			reason: row.reason,
			workflowId: row.workflow_id,
			executionId: row.execution_id,
			node: row.node,
			detail: row.detail ?? null,
		}));
	}

	async list(namespace: string, query: ListQuery, now?: number): Promise<ListPage> {
		const limit = Math.max(1, Math.min(1000, Math.floor(query.limit || 100)));
		const cursor = decodeCursor(query.cursor);
		// The server's clock, like the claims': a worker whose own clock runs ahead must not see
		// live claims as stuck (and an operator then release them).
		const at = storeClock('$2');
		const values: unknown[] = [namespace, now ?? null];
		const where = ['namespace = $1', `(expires_at IS NULL OR expires_at > ${at})`];
		let order: string;
		let cursorColumn: string;
		if (query.stuckOnly) {
			where.push(`state = 'processing'`, `lease_until <= ${at}`);
			cursorColumn = 'lease_until';
			order = 'lease_until, key';
		} else if (query.state) {
			values.push(query.state);
			where.push(`state = $${values.length}`);
			cursorColumn = 'updated_at';
			order = 'updated_at, key';
		} else {
			cursorColumn = '';
			order = 'key';
		}
		if (query.olderThanMs !== null && query.olderThanMs !== undefined) {
			values.push(query.olderThanMs);
			where.push(`updated_at <= ${at} - $${values.length}::bigint`);
		}
		if (cursor) {
			if (cursorColumn) {
				values.push(cursor.at, cursor.key);
				where.push(`(${cursorColumn}, key) > ($${values.length - 1}, $${values.length})`);
			} else {
				values.push(cursor.key);
				where.push(`key > $${values.length}`);
			}
		}
		values.push(limit + 1);
		const rows = await this.query(
			`SELECT * FROM ${this.q}.records WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${values.length}`,
			values,
			'listing keys',
		);
		const records = rows.slice(0, limit).map(toRecord);
		const last = records[records.length - 1];
		const nextCursor =
			rows.length > limit && last
				? encodeCursor({
						at: query.stuckOnly ? (last.leaseUntil ?? 0) : last.updatedAt,
						key: last.key,
					})
				: null;
		return { records, nextCursor };
	}

	/** The window ends at the server's clock (the one every event was stamped with). */
	async stats(namespace: string, sinceMs: number, now?: number): Promise<NamespaceStats> {
		const open = await this.query(
			`SELECT ${storeClock('$2')} AS until,
				(SELECT count(*)::bigint FROM ${this.q}.exceptions WHERE namespace = $1 AND status = 'open') AS n`,
			[namespace, now ?? null],
			'counting open exceptions',
		);
		const until = num(open[0].until);
		const since = until - sinceMs;
		const rows = await this.query(
			`SELECT event, reason, count(*)::bigint AS n FROM ${this.q}.history
			 WHERE namespace = $1 AND at >= $2 AND at <= $3 GROUP BY event, reason`,
			[namespace, since, until],
			'counting events',
		);
		const builder = new StatsBuilder(namespace, since, until);
		for (const row of rows) {
			const counter = counterOf(row.event);
			if (counter) builder.add(counter, num(row.n), row.reason);
		}
		builder.stats.openExceptions = num(open[0].n);
		return builder.stats;
	}

	async purge(namespace: string, now?: number): Promise<PurgeResult> {
		const rows = await this.query(this.sql.purge, [namespace, now ?? null], 'purging expired keys');
		return { records: num(rows[0].records), history: num(rows[0].history) };
	}

	async recordExceptions(
		namespace: string,
		requests: OpenExceptionRequest[],
		actor: Actor,
		now?: number,
	): Promise<ExceptionRecord[]> {
		if (requests.length === 0) return [];
		// One row per (key, reason), or per key for incidents: repeats inside this call add to it.
		const recorded: ExceptionRecord[] = [];
		for (const grouping of ['keyAndReason', 'key'] as const) {
			const entries = distinctExceptions(requests.filter((request) => groupingOf(request) === grouping));
			if (entries.length === 0) continue;
			const rows = await this.query(
				grouping === 'key' ? this.sql.recordIncidents : this.sql.recordExceptions,
				[
					namespace,
					entries.map((e) => e.request.key),
					entries.map((e) => (grouping === 'key' ? JSON.stringify(e.reasons) : e.request.reason)),
					entries.map((e) => e.request.owner),
					entries.map((e) => e.request.severity),
					entries.map((e) => e.request.route),
					entries.map((e) => e.occurrences),
					now ?? null,
					actor.workflowId,
					actor.executionId,
				],
				'recording exceptions',
			);
			recorded.push(...rows.map(toException));
		}
		return inRequestOrder(requests, recorded);
	}

	async clock(): Promise<number> {
		const rows = await this.query(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms`, [], 'reading the clock');
		return num(rows[0].now_ms);
	}

	async stuckClaims(query: FeedQuery): Promise<FeedPage<KeyRecord>> {
		const limit = feedLimit(query.limit);
		const [fromNamespace, fromKey] = query.from.after ?? [null, null];
		const rows = await this.query(
			this.sql.stuckClaims,
			[query.namespace, query.from.at, fromNamespace ?? null, fromKey ?? null, query.until, limit + 1],
			'reading stuck claims',
		);
		const events = rows.slice(0, limit).map(toRecord);
		const last = events[events.length - 1];
		return {
			events,
			next: rows.length > limit ? { at: last.leaseUntil!, after: [last.namespace, last.key] } : { at: query.until, after: null },
		};
	}

	async exceptionsSeen(query: FeedQuery): Promise<FeedPage<ExceptionRecord>> {
		const limit = feedLimit(query.limit);
		const rows = await this.query(
			this.sql.exceptionsSeen,
			[query.namespace, query.from.at, query.from.after?.[0] ?? null, query.until, limit + 1],
			'reading exceptions seen',
		);
		const events = rows.slice(0, limit).map(toException);
		const last = events[events.length - 1];
		return {
			events,
			next: rows.length > limit ? { at: last.lastSeenAt, after: [last.id] } : { at: query.until, after: null },
		};
	}

	async resolveException(request: ResolveExceptionRequest, actor: Actor, now?: number): Promise<ResolveExceptionResult> {
		if (request.id !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(request.id)) {
			return { exceptions: [], record: null };
		}
		const rows = await this.query(
			`SELECT r.exception_ids, r.refused, (r.rec).*
			 FROM ${this.q}.resolve_exception($1, $2, $3, $4, $5, $6, $7::jsonb,
				coalesce($8::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint), $9, $10, $11, $12) r`,
			[
				request.id,
				request.namespace,
				request.key,
				request.resolution,
				request.resolvedBy,
				request.note,
				request.resultJson,
				now ?? null,
				actor.workflowId,
				actor.executionId,
				actor.node,
				request.force === true,
			],
			'resolving an exception',
		);
		const row = rows[0];
		const ids: string[] = row?.exception_ids ?? [];
		const exceptions = ids.length
			? (
					await this.query(`SELECT * FROM ${this.q}.exceptions WHERE id = ANY ($1::uuid[]) ORDER BY first_seen_at`, [ids], 'reading exceptions')
				).map(toException)
			: [];
		return { exceptions, record: row && row.namespace ? toRecord(row) : null, refused: row?.refused ?? null };
	}

	async getException(id: string): Promise<ExceptionRecord | null> {
		if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
		const rows = await this.query(`SELECT * FROM ${this.q}.exceptions WHERE id = $1`, [id], 'reading an exception');
		return rows.length ? toException(rows[0]) : null;
	}

	async listOpenExceptions(query: ExceptionQuery, now?: number): Promise<ExceptionRecord[]> {
		const values: unknown[] = [];
		const where = [`status = 'open'`];
		const add = (sqlText: string, value: unknown) => {
			values.push(value);
			where.push(sqlText.replace('?', `$${values.length}`));
		};
		if (query.namespace) add('namespace = ?', query.namespace);
		if (query.owner) add('owner = ?', query.owner);
		if (query.reason) add('reason = ?', query.reason);
		if (query.olderThanMs) {
			values.push(now ?? null);
			const at = storeClock(`$${values.length}`);
			add(`first_seen_at <= ${at} - ?::bigint`, query.olderThanMs);
		}
		values.push(Math.max(1, Math.min(1000, Math.floor(query.limit || 100))));
		const rows = await this.query(
			`SELECT * FROM ${this.q}.exceptions WHERE ${where.join(' AND ')} ORDER BY first_seen_at, id LIMIT $${values.length}`,
			values,
			'listing exceptions',
		);
		return rows.map(toException);
	}

	async health(): Promise<StoreHealth> {
		try {
			await this.ensureReady();
			const rows = await this.query<{ can_write: boolean }>(
				`SELECT has_table_privilege(current_user, $1, 'INSERT, UPDATE, DELETE') AS can_write`,
				[`${this.q}.records`],
				'checking permissions',
			);
			if (!rows[0]?.can_write) {
				return { ok: false, message: `User may not write to ${this.schema}.records` };
			}
			const label = this.kind === 'embedded' ? 'Opened the embedded store' : 'Connected to Postgres';
			return { ok: true, message: `${label} at ${this.where}; schema ${this.schema} is ready` };
		} catch (error) {
			return { ok: false, message: (error as Error).message };
		}
	}

	async close(): Promise<void> {
		await this.executor.close();
	}
}

/**
 * The time every read compares with: the parameter when a test injects one, else the server's
 * clock — the one claims and transitions use. A scalar subquery, so it is computed once per
 * statement and the indexes still apply.
 */
function storeClock(param: string): string {
	return `(SELECT coalesce(${param}::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint))`;
}

// In words, because n8n replaces messages that carry raw socket codes with a generic text.
function describeConnectionFailure(code: string | undefined, message: string): string {
	switch (code) {
		case 'ECONNREFUSED':
			return 'connection refused: is the server running and the port right?';
		case 'ENOTFOUND':
		case 'EAI_AGAIN':
			return 'host name not found';
		case 'ETIMEDOUT':
		case 'EHOSTUNREACH':
			return 'no answer from the host';
		case '57P01':
		case '57P02':
			return 'the server terminated the connection';
		case '57P03':
			return 'the server is starting up or shutting down';
		default:
			return message.replace(/\bE[A-Z]{4,}\b\s*/g, '').trim() || 'connection lost';
	}
}

const feedLimit = (limit: number) => Math.max(1, Math.min(1000, Math.floor(limit || 100)));

function toException(row: QueryResultRow): ExceptionRecord {
	return {
		id: row.id,
		namespace: row.namespace,
		key: row.key,
		reason: row.reason,
		owner: row.owner,
		severity: row.severity,
		route: row.route,
		status: row.status,
		reasons: row.reasons ?? [row.reason],
		groupBy: row.group_by === 'key' ? 'key' : 'keyAndReason',
		occurrences: num(row.occurrences),
		firstSeenAt: num(row.first_seen_at),
		lastSeenAt: num(row.last_seen_at),
		workflowId: row.workflow_id ?? null,
		executionId: row.execution_id ?? null,
		resolution: row.resolution ?? null,
		resolvedBy: row.resolved_by ?? null,
		resolvedAt: numOrNull(row.resolved_at),
		note: row.note ?? null,
	};
}

function toRecord(row: QueryResultRow): KeyRecord {
	return {
		namespace: row.namespace,
		key: row.key,
		state: row.state,
		attempt: num(row.attempt),
		claimToken: row.claim_token ?? null,
		fingerprint: row.fingerprint ?? null,
		result: row.result ?? null,
		lastError: row.last_error ?? null,
		firstSeenAt: num(row.first_seen_at),
		lastSeenAt: num(row.last_seen_at),
		updatedAt: num(row.updated_at),
		leaseUntil: numOrNull(row.lease_until),
		expiresAt: numOrNull(row.expires_at),
		duplicateCount: num(row.duplicate_count),
		workflowId: row.workflow_id ?? null,
		executionId: row.execution_id ?? null,
	};
}

interface Cursor {
	at: number;
	key: string;
}

function encodeCursor(cursor: Cursor): string {
	return Buffer.from(JSON.stringify([cursor.at, cursor.key]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | null | undefined): Cursor | null {
	if (!cursor) return null;
	try {
		const [at, key] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
		if (typeof at === 'number' && typeof key === 'string') return { at, key };
	} catch {
		// fall through
	}
	throw new IdempotencyError('The list cursor is not valid; pass the nextCursor of the previous page, or leave it empty');
}

function describeUrl(url: string): string {
	try {
		const parsed = new URL(url);
		return `${parsed.hostname}:${parsed.port || 5432}`;
	} catch {
		return 'the configured address';
	}
}

function fromConfig(config: PostgresStoreConfig): PostgresStoreOptions {
	const poolConfig: PoolConfig = config.connectionString
		? { connectionString: config.connectionString }
		: {
				host: config.host,
				port: config.port,
				database: config.database,
				user: config.user,
				password: config.password || undefined,
			};
	if (config.ssl === 'require') poolConfig.ssl = { rejectUnauthorized: false };
	if (config.ssl === 'verify-full') poolConfig.ssl = { rejectUnauthorized: true };
	poolConfig.max = Math.max(1, Math.floor(config.maxConnections || 10));
	poolConfig.connectionTimeoutMillis = 10_000;
	poolConfig.idleTimeoutMillis = 30_000;
	poolConfig.application_name = 'n8n-nodes-idempotency';
	// No statement of the store runs long enough to pay back a JIT compilation; a bad row estimate
	// must not make one compile on every call (see BENCHMARKS.md).
	poolConfig.options = '-c jit=off';
	return {
		kind: 'postgres',
		schema: config.schema,
		executor: poolExecutor(poolConfig),
		where: config.connectionString ? describeUrl(config.connectionString) : `${config.host}:${config.port}`,
	};
}

export function createPostgresStore(config: PostgresStoreConfig): PostgresStore {
	return new PostgresStore(config);
}
