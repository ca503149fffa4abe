// The Postgres adapter (and, with another executor, the embedded one): the store primitives of
// base/BaseStore.ts as the atomic statements under sql/ and a few plain reads, rows mapped back by
// rows.ts. One pg pool per store; migrations run once, before the first call. A Postgres server's
// durability (durability.ts) is read after the migrations, again after the pool opened a new
// connection (a failover may have moved it to a server set up otherwise) or after a few
// minutes, and claims are refused while it has a `refuse` finding.

import { readFileSync } from 'fs';
import { join } from 'path';
import type { QueryResultRow } from 'pg';
import { BaseStore, type EventTally, type IndexPage, type IndexQuery, type OpenExceptionsQuery } from '../base/BaseStore';
import type { DistinctException } from '../exceptions';
import { IdempotencyError, messageWithHint, StoreMisconfiguredError, StoreUnavailableError } from '../errors';
import { quoteIdentifier, validateSchemaName } from '../identifiers';
import { counterOf } from '../stats';
import type { ReportTally } from '../report';
import { compactRuns } from '../historyRuns';
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
	DurabilityReport,
	ResolveExceptionRequest,
	ResolveExceptionResult,
	RestoreRequest,
	StoreHealth,
	TransitionRequest,
	TransitionResult,
} from '../types';
import { claimPolicyArgs } from '../types';
import { describeServer, poolConfigOf, type PostgresStoreConfig } from './connection';
import { translatePostgresError } from './errors';
import { describeSettings, durabilityReport, findingText, judgeDurability, readDurabilitySettings, sessionSetupSql, unreadableSettings } from './durability';
import { poolExecutor, type SqlExecutor } from './executor';
import { migrate } from './migrate';
import { num, toClaimDecision, toException, toHistoryEntry, toRecord } from './rows';

export type { PostgresStoreConfig } from './connection';

const SQL_DIR = join(__dirname, 'sql');
const SQL_FILES = ['claim', 'transition', 'purge', 'record_exceptions', 'restore', 'record_incidents', 'stuck_claims', 'exceptions_seen', 'report'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERVER_CLOCK = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';
/** How long a durability reading is trusted when no new connection was opened (a setting changed by a reload). */
const DURABILITY_RECHECK_MS = 5 * 60_000;

export interface PostgresStoreOptions {
	kind: 'postgres' | 'embedded';
	/** What the user calls this store, in messages: "Postgres", "The embedded store". */
	name: string;
	schema: string;
	executor: SqlExecutor;
	/** Where the data is, for error messages: "host:port" or a folder. */
	where: string;
	/** See PostgresStoreConfig.requireSynchronousStandby. */
	requireSynchronousStandby?: boolean;
}

export class PostgresStore extends BaseStore {
	readonly kind: 'postgres' | 'embedded';
	readonly schema: string;
	private readonly executor: SqlExecutor;
	private readonly where: string;
	private readonly name: string;
	private ready: Promise<void> | null = null;
	private readonly sql: Record<(typeof SQL_FILES)[number], string>;
	private readonly q: string;
	private readonly requireSynchronousStandby: boolean;
	/** The last durability reading (Postgres only), and whether a new connection made it stale. */
	private durabilityRead: { report: DurabilityReport; summary: string } | null = null;
	private durabilityStale = true;
	private durabilityReading: Promise<{ report: DurabilityReport; summary: string }> | null = null;

	constructor(options: PostgresStoreConfig | PostgresStoreOptions) {
		super();
		// Validate before anything connects.
		this.schema = validateSchemaName(options.schema);
		const require = options.requireSynchronousStandby === true;
		const resolved: PostgresStoreOptions =
			'executor' in options
				? options
				: {
						kind: 'postgres',
						name: 'Postgres',
						schema: options.schema,
						executor: poolExecutor(poolConfigOf(options), { sessionSetup: sessionSetupSql(require), onConnect: () => (this.durabilityStale = true) }),
						where: describeServer(options),
					};
		this.requireSynchronousStandby = require;
		this.kind = resolved.kind;
		this.name = resolved.name;
		this.q = quoteIdentifier(this.schema);
		this.executor = resolved.executor;
		this.where = resolved.where;
		const load = (name: string) => readFileSync(join(SQL_DIR, `${name}.sql`), 'utf8').split('{{schema}}').join(this.q);
		this.sql = Object.fromEntries(SQL_FILES.map((name) => [name, load(name)])) as PostgresStore['sql'];
	}

	/** Applies migrations once per store (a failed attempt is retried on the next call), then reads the durability when stale. */
	protected async prepare(): Promise<void> {
		await this.migrated();
		if (this.kind === 'postgres' && (this.durabilityStale || Date.now() - (this.durabilityRead?.report.checkedAt ?? 0) > DURABILITY_RECHECK_MS)) {
			await this.readDurability();
		}
	}

	private migrated(): Promise<void> {
		if (!this.ready) {
			this.ready = migrate(this.executor, this.schema)
				.then(() => undefined)
				.catch((error) => {
					this.ready = null;
					throw this.translateError(error, 'preparing the idempotency schema');
				});
		}
		return this.ready;
	}

	protected translateError(error: unknown, doing: string): Error {
		const translated = translatePostgresError(error, this.name, this.where, doing);
		// The connection broke: the next one may reach another server (a failover).
		if (translated instanceof StoreUnavailableError) this.durabilityStale = true;
		return translated;
	}

	/** One reading at a time, shared by the calls that wait for it. */
	private readDurability(): Promise<{ report: DurabilityReport; summary: string }> {
		if (!this.durabilityReading) {
			this.durabilityStale = false;
			this.durabilityReading = readDurabilitySettings(this.executor.query)
				.then(
					(settings) => ({ report: durabilityReport(judgeDurability(settings, this.requireSynchronousStandby)), summary: describeSettings(settings) }),
					(error) => {
						// A connection that failed fails the call; a server that refused the reading is unknown.
						if (this.translateError(error, 'reading the server’s durability settings') instanceof StoreUnavailableError) throw error;
						const message = (error as Error)?.message ?? String(error);
						return { report: durabilityReport([unreadableSettings(message, this.requireSynchronousStandby)]), summary: 'durability settings not readable' };
					},
				)
				.then((read) => {
					this.durabilityRead = read;
					return read;
				})
				.catch((error) => {
					this.durabilityStale = true;
					throw error;
				})
				.finally(() => {
					this.durabilityReading = null;
				});
		}
		return this.durabilityReading;
	}

	/**
	 * What the server says about losing acknowledged writes (durability.ts): the reading prepare()
	 * keeps fresh — cheap enough to ask on every execution. The embedded store has no server to
	 * ask: the base's answer.
	 */
	async durability(): Promise<DurabilityReport> {
		if (this.kind !== 'postgres') return super.durability();
		return (await this.run('reading the server’s durability settings', async () => this.durabilityRead ?? this.readDurability())).report;
	}

	/** Claims wait for the durability reading of prepare() and are refused while it has a refusal. */
	private checkDurable(): void {
		const refusals = this.durabilityRead?.report.findings.filter((f) => f.level === 'refuse' && f.accepted !== true) ?? [];
		if (refusals.length === 0) return;
		throw new StoreMisconfiguredError(
			`Postgres at ${this.where} can lose acknowledged writes in a failover (${refusals.map((f) => `${f.setting}. ${f.risk}`).join(' ')}) Claims are refused: the credential requires a synchronous standby.`,
			refusals[0].fix,
		);
	}

	private query<R extends QueryResultRow>(text: string, values: unknown[], name?: string): Promise<R[]> {
		return this.executor.query<R>(text, values, name);
	}

	protected async claimChunk(namespace: string, requests: ClaimRequest[], policy: ClaimPolicy, actor: Actor, now: number | null): Promise<ClaimDecision[]> {
		this.checkDurable();
		const rows = await this.query(
			this.sql.claim,
			[
				namespace,
				requests.map((r) => r.key),
				requests.map((r) => r.fingerprint),
				now,
				...claimPolicyArgs(policy),
				actor.workflowId,
				actor.executionId,
				actor.node,
				requests.map((r) => r.repeats?.duplicates ?? 0),
				requests.map((r) => r.repeats?.mismatches ?? 0),
			],
			`idempotency_claim_${this.schema}`,
		);
		const byKey = new Map<string, QueryResultRow>(rows.map((row) => [row.key as string, row]));
		return requests.map((request) => {
			const row = byKey.get(request.key);
			if (!row) throw new IdempotencyError(`Postgres returned no decision for key "${request.key}"`);
			return toClaimDecision(request.key, row);
		});
	}

	protected async restoreChunk(namespace: string, requests: RestoreRequest[], actor: Actor, now: number | null): Promise<boolean[]> {
		const rows = await this.query(this.sql.restore, [
			namespace,
			requests.map((r) => r.key),
			requests.map((r) => r.claimToken),
			requests.map((r) => (r.prior === null ? null : JSON.stringify(r.prior))),
			now,
			actor.workflowId,
			actor.executionId,
			actor.node,
		]);
		return rows.map((row) => row.restored === true);
	}

	protected async transitionChunk(namespace: string, requests: TransitionRequest[], actor: Actor, now: number | null): Promise<TransitionResult[]> {
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
				requests.map((r) => r.retentionMs),
				now,
				actor.workflowId,
				actor.executionId,
				actor.node,
			],
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

	protected async readRecord(namespace: string, key: string): Promise<KeyRecord | null> {
		const rows = await this.query(`SELECT * FROM ${this.q}.records WHERE namespace = $1 AND key = $2`, [namespace, key]);
		return rows.length ? toRecord(rows[0]) : null;
	}

	protected async readHistory(namespace: string, key: string): Promise<HistoryEntry[]> {
		// The stored events, then the key's open run of duplicates, kept on its record (migration 007).
		const rows = await this.query(
			`SELECT at, event, reason, workflow_id, execution_id, node, detail, last_at, count FROM (
				SELECT 0 AS part, id, at, event, reason, workflow_id, execution_id, node, detail, last_at, count
				FROM ${this.q}.history WHERE namespace = $1 AND key = $2
				UNION ALL
				SELECT 1, 0, run_at, 'duplicate_seen', run_reason, run_workflow_id, run_execution_id, run_node, NULL,
					greatest(last_seen_at, run_at), run_count
				FROM ${this.q}.records WHERE namespace = $1 AND key = $2 AND run_at IS NOT NULL
			 ) h ORDER BY part, id`,
			[namespace, key],
		);
		return compactRuns(rows.map(toHistoryEntry));
	}

	protected async pageIndex(namespace: string, query: IndexQuery): Promise<IndexPage> {
		const values: unknown[] = [namespace, query.at];
		const where = ['namespace = $1', '(expires_at IS NULL OR expires_at > $2::bigint)'];
		const column = { stuck: 'lease_until', state: 'updated_at', key: null }[query.order];
		if (query.order === 'stuck') {
			where.push(`state = 'processing'`, 'lease_until <= $2::bigint');
		} else if (query.order === 'state') {
			values.push(query.state);
			where.push(`state = $${values.length}`);
		}
		if (query.updatedBefore !== null) {
			values.push(query.updatedBefore);
			where.push(`updated_at <= $${values.length}::bigint`);
		}
		if (query.after && column) {
			values.push(query.after.at, query.after.key);
			where.push(`(${column}, key) > ($${values.length - 1}, $${values.length})`);
		} else if (query.after) {
			values.push(query.after.key);
			where.push(`key > $${values.length}`);
		}
		values.push(query.limit + 1);
		const rows = await this.query(
			`SELECT * FROM ${this.q}.records WHERE ${where.join(' AND ')} ORDER BY ${column ? `${column}, key` : 'key'} LIMIT $${values.length}`,
			values,
		);
		const records = rows.slice(0, query.limit).map(toRecord);
		const last = records[records.length - 1];
		const at = (record: KeyRecord) => (query.order === 'stuck' ? (record.leaseUntil ?? 0) : record.updatedAt);
		return { records, next: rows.length > query.limit && last ? { at: at(last), key: last.key } : null };
	}

	protected async countEvents(namespace: string, since: number, until: number): Promise<EventTally> {
		const rows = await this.query(
			// Hourly counters (migration 007): the hours from the one holding `since` to the one holding `until`.
			`SELECT event, reason, sum(n)::bigint AS n FROM ${this.q}.event_counts
			 WHERE namespace = $1 AND hour >= $2::bigint - $2::bigint % 3600000 AND hour <= $3::bigint - $3::bigint % 3600000
			 GROUP BY event, reason
			 UNION ALL
			 SELECT NULL, NULL, count(*)::bigint FROM ${this.q}.exceptions WHERE namespace = $1 AND status = 'open'`,
			[namespace, since, until],
		);
		const tally: EventTally = { counts: [], openExceptions: 0 };
		for (const row of rows) {
			if (row.event === null) {
				tally.openExceptions = num(row.n);
				continue;
			}
			const counter = counterOf(row.event);
			if (counter) tally.counts.push({ counter, count: num(row.n), reason: row.reason ?? null });
		}
		return tally;
	}

	protected async readReport(namespace: string | null, firstHour: number, lastHour: number): Promise<ReportTally> {
		const rows = await this.query(this.sql.report, [namespace, firstHour, lastHour]);
		const tally: ReportTally = { hours: [], resolutions: [], openExceptions: 0, oldestOpen: null };
		for (const row of rows) {
			const at = row.at === null ? 0 : num(row.at);
			if (row.kind === 'count') {
				const counter = counterOf(row.event);
				if (counter && counter !== 'released') tally.hours.push({ hour: at, counter, count: num(row.n) });
				if (row.event === 'processed' && row.reason === 'retry') tally.hours.push({ hour: at, counter: 'retrySucceeded', count: num(row.n) });
			} else if (row.kind === 'opened') tally.hours.push({ hour: at, counter: 'opened', count: num(row.n) });
			else if (row.kind === 'resolved') tally.resolutions.push({ at, via: row.event, openMs: num(row.open_ms) });
			else if (row.kind === 'open') tally.openExceptions = num(row.n);
			else tally.oldestOpen = { id: row.id, namespace: row.namespace, key: row.key, firstSeenAt: at };
		}
		return tally;
	}

	protected async purgeExpired(namespace: string, at: number): Promise<PurgeResult> {
		const rows = await this.query(this.sql.purge, [namespace, at]);
		return { records: num(rows[0].records), history: num(rows[0].history) };
	}

	protected async recordExceptionChunk(
		namespace: string,
		grouping: ExceptionGrouping,
		entries: DistinctException[],
		actor: Actor,
		now: number | null,
	): Promise<ExceptionRecord[]> {
		const rows = await this.query(grouping === 'key' ? this.sql.record_incidents : this.sql.record_exceptions, [
			namespace,
			entries.map((e) => e.request.key),
			entries.map((e) => (grouping === 'key' ? JSON.stringify(e.reasons) : e.request.reason)),
			entries.map((e) => e.request.owner),
			entries.map((e) => e.request.severity),
			entries.map((e) => e.request.route),
			entries.map((e) => e.occurrences),
			now,
			actor.workflowId,
			actor.executionId,
		]);
		return rows.map(toException);
	}

	protected async resolve(request: ResolveExceptionRequest, actor: Actor, now: number | null): Promise<ResolveExceptionResult> {
		if (request.id !== null && !UUID.test(request.id)) return { exceptions: [], record: null };
		const rows = await this.query(
			`SELECT r.exception_ids, r.refused, (r.rec).*
			 FROM ${this.q}.resolve_exception($1, $2, $3, $4, $5, $6, $7::jsonb,
				coalesce($8::bigint, ${SERVER_CLOCK}), $9, $10, $11, $12, $13, $14, $15::bigint, $16) r`,
			[
				request.id,
				request.namespace,
				request.key,
				request.resolution,
				request.resolvedBy,
				request.note,
				request.resultJson,
				now,
				actor.workflowId,
				actor.executionId,
				actor.node,
				request.force === true,
				request.resolvedVia ?? 'person',
				request.claimToken ?? null,
				request.endedBy ?? null,
				request.actOnKey === true,
			],
		);
		const row = rows[0];
		const ids: string[] = row?.exception_ids ?? [];
		const exceptions = ids.length
			? (await this.query(`SELECT * FROM ${this.q}.exceptions WHERE id = ANY ($1::uuid[]) ORDER BY first_seen_at, id`, [ids])).map(toException)
			: [];
		return { exceptions, record: row && row.namespace ? toRecord(row) : null, refused: row?.refused ?? null };
	}

	protected async readException(id: string): Promise<ExceptionRecord | null> {
		if (!UUID.test(id)) return null;
		const rows = await this.query(`SELECT * FROM ${this.q}.exceptions WHERE id = $1`, [id]);
		return rows.length ? toException(rows[0]) : null;
	}

	protected async readOpenExceptions(query: OpenExceptionsQuery): Promise<ExceptionRecord[]> {
		const values: unknown[] = [];
		const where = [`status = 'open'`];
		const add = (condition: string, value: unknown) => {
			values.push(value);
			where.push(condition.replace('?', `$${values.length}`));
		};
		if (query.namespace !== null) add('namespace = ?', query.namespace);
		if (query.owner !== null) add('owner = ?', query.owner);
		if (query.reason !== null) add('reason = ?', query.reason);
		if (query.firstSeenBefore !== null) add('first_seen_at <= ?::bigint', query.firstSeenBefore);
		values.push(query.limit);
		const rows = await this.query(
			`SELECT * FROM ${this.q}.exceptions WHERE ${where.join(' AND ')} ORDER BY first_seen_at, id LIMIT $${values.length}`,
			values,
		);
		return rows.map(toException);
	}

	protected async readStuckClaims(query: FeedQuery): Promise<KeyRecord[]> {
		const [fromNamespace, fromKey] = query.from.after ?? [null, null];
		const rows = await this.query(this.sql.stuck_claims, [query.namespace, query.from.at, fromNamespace ?? null, fromKey ?? null, query.until, query.limit + 1]);
		return rows.map(toRecord);
	}

	protected async readExceptionsSeen(query: FeedQuery): Promise<ExceptionRecord[]> {
		const rows = await this.query(this.sql.exceptions_seen, [query.namespace, query.from.at, query.from.after?.[0] ?? null, query.until, query.limit + 1]);
		return rows.map(toException);
	}

	protected async serverTime(): Promise<number> {
		const rows = await this.query(`SELECT ${SERVER_CLOCK} AS now_ms`, []);
		return num(rows[0].now_ms);
	}

	async health(): Promise<StoreHealth> {
		try {
			const rows = await this.run('checking permissions', () =>
				this.query<{ can_write: boolean }>(`SELECT has_table_privilege(current_user, $1, 'INSERT, UPDATE, DELETE') AS can_write`, [`${this.q}.records`]),
			);
			if (!rows[0]?.can_write) {
				return { ok: false, message: `User may not write to ${this.schema}.records` };
			}
			const message = `${this.name} at ${this.where}: schema ${this.schema} is ready`;
			if (this.kind !== 'postgres') return { ok: true, message };
			const { report, summary } = await this.run('reading the server’s durability settings', () => this.readDurability());
			const said = report.findings.map(findingText);
			if (report.findings.some((f) => f.level === 'refuse' && f.accepted !== true)) {
				return { ok: false, message: `Claims are refused on Postgres at ${this.where} (${summary}): ${said.join(' ')}` };
			}
			return { ok: true, message: `${message} (${summary})`, ...(said.length ? { warning: said.join('\n') } : {}) };
		} catch (error) {
			return { ok: false, message: messageWithHint(error) };
		}
	}

	async close(): Promise<void> {
		await this.executor.close();
	}
}
