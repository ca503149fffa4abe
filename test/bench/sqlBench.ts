// What the Postgres and the embedded (PGlite) benches share: the raw ceiling (one plain
// statement per chunk on a comparable table), the footprint read from the catalog, and the
// preload that fills the store's own tables (created by its migrations) with processed keys.

import type { Query } from '../../nodes/shared/store/postgres/executor';
import type { Footprint, StoreName } from './results';
import { GUARD_POLICY, expectAll, resultFor, type Contender } from './workload';

const NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

export const RAW_LABELS = {
	claim: 'INSERT … SELECT FROM unnest($keys) ON CONFLICT DO NOTHING RETURNING key, one per chunk',
	reclaim: 'the same INSERT on keys already there (every row conflicts)',
	markProcessed: 'UPDATE … SET state, result FROM unnest($keys, $results) (primary-key probe per key), one per chunk',
	single: 'INSERT … VALUES (one key) ON CONFLICT DO NOTHING RETURNING key',
};

/**
 * A table that holds what a bare claim needs — same primary key and fill factor as the store's
 * records — with no secondary index, no history and no decision logic: the ceiling.
 */
export async function createRawTable(query: Query, quotedSchema: string): Promise<void> {
	await query(`CREATE TABLE IF NOT EXISTS ${quotedSchema}.raw_claims (
		namespace     text   NOT NULL,
		key           text   NOT NULL,
		state         text   NOT NULL,
		claim_token   uuid,
		result        jsonb,
		first_seen_at bigint NOT NULL,
		updated_at    bigint NOT NULL,
		lease_until   bigint,
		PRIMARY KEY (namespace, key)
	) WITH (fillfactor = 85)`);
}

export class RawSqlContender implements Contender {
	private readonly insertMany: string;
	private readonly insertOne: string;
	private readonly update: string;

	constructor(
		private readonly query: Query,
		quotedSchema: string,
		private readonly namespace: string,
	) {
		const t = `${quotedSchema}.raw_claims`;
		this.insertMany = `INSERT INTO ${t} (namespace, key, state, claim_token, first_seen_at, updated_at, lease_until)
			SELECT $1, k.key, 'processing', gen_random_uuid(), c.now_ms, c.now_ms, c.now_ms + $3::bigint
			FROM unnest($2::text[]) AS k(key) CROSS JOIN (SELECT ${NOW_MS} AS now_ms) c
			ON CONFLICT (namespace, key) DO NOTHING RETURNING key`;
		this.insertOne = `INSERT INTO ${t} (namespace, key, state, claim_token, first_seen_at, updated_at, lease_until)
			VALUES ($1, $2, 'processing', gen_random_uuid(), ${NOW_MS}, ${NOW_MS}, ${NOW_MS} + $3::bigint)
			ON CONFLICT (namespace, key) DO NOTHING RETURNING key`;
		// The arrays behind a sub-select: when Postgres sees that 1000 keys are coming it hashes
		// the whole table (97 ms per chunk at 100k rows, growing with the table) instead of
		// probing the primary key per key (49 ms) — that would not be a ceiling.
		this.update = `UPDATE ${t} AS t SET state = 'processed', result = u.result::jsonb, lease_until = NULL, updated_at = ${NOW_MS}
			FROM unnest((SELECT $2::text[]), (SELECT $3::text[])) AS u(key, result)
			WHERE t.namespace = $1 AND t.key = u.key RETURNING t.key`;
	}

	async claim(keys: string[]): Promise<null> {
		const rows = await this.query(this.insertMany, [this.namespace, keys, GUARD_POLICY.leaseMs]);
		expectAll('a raw insert', rows.length, keys.length);
		return null;
	}

	async reclaim(keys: string[]): Promise<void> {
		const rows = await this.query(this.insertMany, [this.namespace, keys, GUARD_POLICY.leaseMs]);
		expectAll('a raw conflict', keys.length - rows.length, keys.length);
	}

	async markProcessed(keys: string[]): Promise<void> {
		const rows = await this.query(this.update, [this.namespace, keys, keys.map(resultFor)]);
		expectAll('a raw update', rows.length, keys.length);
	}

	async claimOne(key: string): Promise<void> {
		const rows = await this.query(this.insertOne, [this.namespace, key, GUARD_POLICY.leaseMs]);
		expectAll('a raw insert', rows.length, 1);
	}
}

interface SizeRow {
	records: string;
	records_total: string;
	records_heap: string;
	records_indexes: string;
	events: string;
	history_total: string;
	history_indexes: string;
}

/** Bytes per key as Postgres counts them: relation sizes (heap, TOAST, free space map, indexes) ÷ rows. */
export async function sqlFootprint(query: Query, schema: string, store: StoreName, when: string): Promise<Footprint> {
	const [row] = await query<SizeRow>(
		`SELECT (SELECT count(*) FROM ${schema}.records) AS records,
			pg_total_relation_size('${schema}.records') AS records_total,
			pg_table_size('${schema}.records') AS records_heap,
			pg_indexes_size('${schema}.records') AS records_indexes,
			(SELECT count(*) FROM ${schema}.history) AS events,
			pg_total_relation_size('${schema}.history') AS history_total,
			pg_indexes_size('${schema}.history') AS history_indexes`,
	);
	const records = Number(row.records);
	const events = Number(row.events);
	const per = (bytes: string, count: number) => (count > 0 ? Number(bytes) / count : 0);
	return {
		store,
		when,
		records,
		bytesPerRecord: per(row.records_total, records),
		historyBytesPerRecord: per(row.history_total, records),
		historyBytesPerEvent: per(row.history_total, events),
		parts: [
			{ label: 'records: table', bytes: per(row.records_heap, records), how: 'pg_table_size(records) ÷ rows' },
			{ label: 'records: indexes', bytes: per(row.records_indexes, records), how: 'pg_indexes_size(records) ÷ rows' },
			{
				label: `history: per event (${(events / Math.max(1, records)).toFixed(1)} events per key)`,
				bytes: per(row.history_total, events),
				how: 'pg_total_relation_size(history) ÷ rows',
			},
			{ label: 'history: indexes, per event', bytes: per(row.history_indexes, events), how: 'pg_indexes_size(history) ÷ rows' },
		],
	};
}

export interface PreloadOptions {
	/** Two sessions: records and history are loaded (and their indexes rebuilt) side by side. */
	records: Query;
	history: Query;
	/** Quoted schema. */
	schema: string;
	namespace: string;
	seed: string;
	historyPerKey: 1 | 2;
	/** Above this many new rows, indexes are dropped and rebuilt around the load (much faster). */
	rebuildAbove: number;
}

/**
 * Adds processed records `from` … `to - 1` as the Guard and Ledger leave them (claimed, then
 * marked processed with a result, 30-day retention), with their history events, in slices of a
 * million rows. Key i is md5('<seed>:<i>'): random index order, like real keys.
 */
export async function preloadSql(options: PreloadOptions, from: number, to: number): Promise<void> {
	const { schema, namespace, seed } = options;
	const rebuild = to - from > options.rebuildAbove;
	const now = Date.now();
	const slice = 1_000_000;
	const loadRecords = async (query: Query) => {
		const dropped = rebuild ? await dropIndexes(query, schema, 'records') : [];
		for (let start = from; start < to; start += slice) {
			// at = now - (to - i) ms: older keys first; settled 5 ms after the claim.
			await query(
				`INSERT INTO ${schema}.records (namespace, key, state, attempt, claim_token, result, first_seen_at,
					last_seen_at, updated_at, expires_at, retention_ms, duplicate_count, workflow_id, execution_id, decision)
				SELECT $1, md5($2 || ':' || i), 'processed', 1, gen_random_uuid(),
					jsonb_build_object('id', substr(md5(i::text), 1, 8)), $3 - ($4 - i), $3 - ($4 - i), $3 - ($4 - i) + 5,
					$3 - ($4 - i) + 5 + $5, $5, 0, 'bench-workflow', (100000 + i / 1000)::text, 'new:first_seen'
				FROM generate_series($6::bigint, $7::bigint) AS i`,
				[namespace, seed, now, to, GUARD_POLICY.retentionMs, start, Math.min(to, start + slice) - 1],
			);
		}
		for (const statement of dropped) await query(statement);
	};
	const loadHistory = async (query: Query) => {
		const dropped = rebuild ? await dropIndexes(query, schema, 'history') : [];
		for (let start = from; start < to; start += slice) {
			await query(
				`INSERT INTO ${schema}.history (namespace, key, at, event, reason, workflow_id, execution_id, node)
				SELECT $1, md5($2 || ':' || i), $3 - ($4 - i) + e.dt, e.event, e.reason, 'bench-workflow',
					(100000 + i / 1000)::text, e.node
				FROM generate_series($5::bigint, $6::bigint) AS i
				CROSS JOIN (VALUES (0, 'claimed', 'first_seen', 'Idempotency Guard'), (5, 'processed', NULL, 'Mark processed')) AS e(dt, event, reason, node)
				WHERE e.dt = 0 OR $7::int = 2`,
				[namespace, seed, now, to, start, Math.min(to, start + slice) - 1, options.historyPerKey],
			);
		}
		for (const statement of dropped) await query(statement);
	};
	await Promise.all([loadRecords(options.records), loadHistory(options.history)]);
}

/** Drops the indexes (and primary key) of a table; returns the statements that rebuild them. */
async function dropIndexes(query: Query, schema: string, table: 'records' | 'history'): Promise<string[]> {
	const rows = await query<{ tbl: string; idx: string; con: string | null; indexdef: string; condef: string | null }>(
		`SELECT t.relname AS tbl, c.relname AS idx, con.conname AS con,
			pg_get_indexdef(i.indexrelid) AS indexdef, pg_get_constraintdef(con.oid) AS condef
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid
		LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype = 'p'
		WHERE t.relnamespace = $1::regnamespace AND t.relname = $2`,
		[schema, table],
	);
	const rebuild: string[] = [];
	for (const row of rows) {
		const table = `${schema}.${quote(row.tbl)}`;
		if (row.con) {
			await query(`ALTER TABLE ${table} DROP CONSTRAINT ${quote(row.con)}`);
			rebuild.push(`ALTER TABLE ${table} ADD CONSTRAINT ${quote(row.con)} ${row.condef}`);
		} else {
			await query(`DROP INDEX ${schema}.${quote(row.idx)}`);
			rebuild.push(row.indexdef);
		}
	}
	return rebuild;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
