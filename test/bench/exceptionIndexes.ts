// `npm run bench -- --exception-indexes`: what migration 010 changes on the exceptions table. A
// schema of its own, migrated to this version, gets `--exceptions` (default 200k) exceptions
// across 50 namespaces, first seen over the last 90 days, 95 % resolved within two days. Each read
// the table serves — the State Ledger's report (one namespace over 7 and 30 days, every namespace
// over 7 days), the Router's list of open exceptions, stats' open count and the lock statement of
// a resolution by key — is timed with EXPLAIN (ANALYZE, BUFFERS), median of `--runs` (default 21),
// without 010's indexes and the 009 lock statement, then with them (their build timed). Then the
// write cost of the indexes: recording 1000 new exceptions, 1000 repeats, resolving 300 by key,
// with and without them, in turns, `--write-runs` (default 6) times each. Prints; writes nothing.

import { readFileSync } from 'fs';
import { loadavg } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';
import type { Actor } from '../../nodes/shared/store/types';
import { figure, timed, turnOrder, type Figure } from './measure';

const actor: Actor = { workflowId: 'bench', executionId: 'bench', node: 'Router' };
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SCHEMA = 'bench_exception_indexes';
const Q = `"${SCHEMA}"`;
const ROOT = process.env.BENCH_ROOT ?? process.cwd();
const POSTGRES = join(ROOT, 'nodes', 'shared', 'store', 'postgres');
const MIGRATION = readFileSync(join(POSTGRES, 'migrations', '010_exception_lock_order_and_report_indexes.sql'), 'utf8');
const INDEXES = [...MIGRATION.matchAll(/^CREATE INDEX IF NOT EXISTS (\w+) .*;$/gm)].map((m) => ({ name: m[1], sql: m[0].split('{{schema}}').join(Q) }));

interface Read {
	name: string;
	sql: string;
	values: unknown[];
}

async function fill(client: Client, exceptions: number): Promise<void> {
	// Keys are unique per row, so no two open exceptions share (namespace, key, reason).
	await client.query(
		`WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
		INSERT INTO ${Q}.exceptions (namespace, key, reason, reasons, group_by, owner, severity, route, status, occurrences,
			first_seen_at, last_seen_at, workflow_id, execution_id, resolution, resolved_by, resolved_at, resolved_via)
		SELECT 'ns' || lpad((g % 50)::text, 2, '0'), 'order-' || g, r.reason, ARRAY[r.reason], 'keyAndReason', 'ops', 'high', 'Finance',
			CASE WHEN x.open THEN 'open' ELSE 'resolved' END, 1 + g % 3, x.first, x.first + g % 1000, 'wf-' || g % 20, 'ex-' || g,
			CASE WHEN NOT x.open THEN (ARRAY['replay', 'markProcessed', 'discard', 'reconciled'])[1 + g % 4] END,
			CASE WHEN NOT x.open THEN 'jane' END,
			CASE WHEN NOT x.open THEN x.first + (random() * 2 * ${DAY})::bigint END,
			CASE WHEN NOT x.open THEN (ARRAY['person', 'slack', 'reconcile'])[1 + g % 3] END
		FROM generate_series(1, $1::integer) g
		CROSS JOIN clock c
		CROSS JOIN LATERAL (SELECT (ARRAY['write_timeout', 'lease_expired', 'in_progress', 'payload_mismatch', 'claim_lost'])[1 + (g / 50) % 5] AS reason) r
		CROSS JOIN LATERAL (SELECT c.now_ms - 2 * ${DAY} - (random() * 90 * ${DAY})::bigint + g * 0 AS first, random() + g * 0 < 0.05 AS open) x`,
		[exceptions],
	);
	await client.query(`VACUUM ANALYZE ${Q}.exceptions`);
}

async function reads(client: Client, lockStatement: 'v009' | 'v010'): Promise<Read[]> {
	const now = Number((await client.query(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS n`)).rows[0].n);
	const report = readFileSync(join(POSTGRES, 'sql', 'report.sql'), 'utf8').split('{{schema}}').join(Q);
	const hour = (t: number) => t - (t % HOUR);
	const day = (t: number) => t - (t % DAY);
	const [{ key }] = (await client.query(`SELECT key FROM ${Q}.exceptions WHERE namespace = 'ns07' AND status = 'open' ORDER BY key LIMIT 1`)).rows;
	const lock =
		lockStatement === 'v009'
			? `SELECT id FROM ${Q}.exceptions WHERE namespace = $1 AND key = $2 AND status = 'open' FOR UPDATE`
			: `SELECT id FROM ${Q}.exceptions WHERE namespace = $1 AND key = $2 AND status = 'open' AND (group_by = 'keyAndReason' OR group_by = 'key') ORDER BY reason, group_by, id FOR UPDATE`;
	return [
		{ name: 'report, one namespace, 7 days', sql: report, values: ['ns07', day(now - 7 * DAY), hour(now)] },
		{ name: 'report, one namespace, 30 days', sql: report, values: ['ns07', day(now - 30 * DAY), hour(now)] },
		{ name: 'report, every namespace, 7 days', sql: report, values: [null, day(now - 7 * DAY), hour(now)] },
		// PostgresStore.readOpenExceptions and countEvents, as they send them.
		{ name: 'list open, one namespace, 100', sql: `SELECT * FROM ${Q}.exceptions WHERE status = 'open' AND namespace = $1 ORDER BY first_seen_at, id LIMIT $2`, values: ['ns07', 100] },
		{ name: 'list open, every namespace, 100', sql: `SELECT * FROM ${Q}.exceptions WHERE status = 'open' ORDER BY first_seen_at, id LIMIT $1`, values: [100] },
		{ name: 'stats: open count, one namespace', sql: `SELECT count(*)::bigint FROM ${Q}.exceptions WHERE namespace = $1 AND status = 'open'`, values: ['ns07'] },
		{ name: 'resolve by key: the lock statement', sql: lock, values: ['ns07', key] },
	];
}

async function timeRead(client: Client, read: Read, runs: number): Promise<{ ms: Figure; buffers: number; scans: string }> {
	const times: number[] = [];
	let plan: string[] = [];
	for (let i = 0; i < runs; i++) {
		await client.query('BEGIN'); // the lock statement's locks end with it
		plan = (await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${read.sql}`, read.values)).rows.map((row) => row['QUERY PLAN'] as string);
		await client.query('ROLLBACK');
		times.push(Number(/Execution Time: ([\d.]+)/.exec(plan[plan.length - 1])?.[1]));
	}
	const top = plan.find((line) => /^\s*Buffers: shared/.test(line)) ?? '';
	const buffers = Number(/hit=(\d+)/.exec(top)?.[1] ?? 0) + Number(/read=(\d+)/.exec(top)?.[1] ?? 0);
	const scans = plan.flatMap((line) => {
		const m = /(?:Parallel )?Seq Scan on exceptions\b|(Index Only Scan|Index Scan) using (\w+) on exceptions\b|Bitmap Index Scan on (exceptions\w+)/.exec(line);
		if (!m) return [];
		return [m[1] ? `${m[1] === 'Index Scan' ? 'index' : 'index only'} ${m[2]}` : m[3] ? `bitmap ${m[3]}` : 'seq scan'];
	});
	return { ms: figure(times), buffers, scans: [...new Set(scans)].join(', ') };
}

async function writes(store: PostgresStore, label: string): Promise<{ record: number; repeat: number; resolve: number }> {
	const ns = `w-${label}-${Date.now()}`;
	const requests = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, reason: 'write_timeout', owner: 'ops', severity: 'high' as const, route: 'Finance' }));
	const record = await timed(() => store.recordExceptions(ns, requests, actor));
	const repeat = await timed(() => store.recordExceptions(ns, requests, actor));
	const resolve = await timed(async () => {
		for (let i = 0; i < 300; i++) await store.resolveException({ id: null, namespace: ns, key: `k${i}`, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor);
	});
	return { record, repeat, resolve };
}

export async function runExceptionIndexBench(args: Map<string, string>): Promise<void> {
	const exceptions = Number(args.get('exceptions') ?? 200_000);
	const runs = Number(args.get('runs') ?? 21);
	const writeRuns = Number(args.get('write-runs') ?? 6);
	const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
	const client = new Client({ connectionString: url });
	await client.connect();
	const store = new PostgresStore({ host: '', port: 0, database: '', user: '', ssl: 'disable', schema: SCHEMA, maxConnections: 2, connectionString: url });
	const dropIndexes = () => client.query(`DROP INDEX IF EXISTS ${INDEXES.map((index) => `${Q}.${index.name}`).join(', ')}`);
	const cleanWrites = async () => {
		for (const table of ['exceptions', 'history', 'event_counts', 'records']) await client.query(`DELETE FROM ${Q}.${table} WHERE namespace LIKE 'w-%'`);
		await client.query(`VACUUM ANALYZE ${Q}.exceptions`);
	};
	const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
	try {
		await client.query(`DROP SCHEMA IF EXISTS ${Q} CASCADE`);
		if (!(await store.health()).ok) throw new Error('bench: the store did not migrate');
		const started = Date.now();
		await fill(client, exceptions);
		const [{ open, size }] = (await client.query(`SELECT count(*) FILTER (WHERE status = 'open') AS open, pg_size_pretty(pg_total_relation_size('${Q}.exceptions')) AS size FROM ${Q}.exceptions`)).rows;
		console.log(`${exceptions} exceptions (${open} open) in 50 namespaces, ${size} with indexes, filled in ${((Date.now() - started) / 1000).toFixed(1)} s; ${runs} runs per read; load ${load()}`);

		const rows: string[] = [];
		await dropIndexes();
		await client.query(`ANALYZE ${Q}.exceptions`);
		const before = [];
		for (const read of await reads(client, 'v009')) before.push(await timeRead(client, read, runs));
		const builds: string[] = [];
		for (const index of INDEXES) builds.push(`${index.name} ${(await timed(() => client.query(index.sql))).toFixed(0)} ms`);
		await client.query(`ANALYZE ${Q}.exceptions`);
		const afterReads = await reads(client, 'v010');
		for (const [i, read] of afterReads.entries()) {
			const after = await timeRead(client, read, runs);
			const ms = (f: Figure) => `${f.median.toFixed(2)} (${f.min.toFixed(2)}–${f.max.toFixed(2)})`;
			rows.push(`| ${read.name} | ${ms(before[i].ms)} | ${before[i].buffers} | ${before[i].scans} | ${ms(after.ms)} | ${after.buffers} | ${after.scans} |`);
		}
		console.log(`Index builds (migration 010): ${builds.join(', ')}; load ${load()}`);
		console.log('| read | before: ms, median (min–max) | buffers | scans | after: ms | buffers | scans |');
		console.log('|---|---|---|---|---|---|---|');
		for (const row of rows) console.log(row);

		const samples: Record<'without' | 'with', Array<{ record: number; repeat: number; resolve: number }>> = { without: [], with: [] };
		for (let run = 0; run < writeRuns; run++) {
			for (const side of turnOrder(run, 'without' as const, 'with' as const)) {
				await cleanWrites();
				if (side === 'without') await dropIndexes();
				else for (const index of INDEXES) await client.query(index.sql);
				samples[side].push(await writes(store, side));
			}
		}
		await cleanWrites();
		console.log(`Writes, ${writeRuns} runs per side in turns, ms median (min–max); load ${load()}`);
		console.log('| write | without 010\'s indexes | with them |');
		console.log('|---|---|---|');
		for (const [metric, name] of [['record', 'record 1000 new exceptions'], ['repeat', 'record the 1000 again (repeats)'], ['resolve', 'resolve 300 by key, one call each']] as const) {
			const show = (f: Figure) => `${f.median.toFixed(1)} (${f.min.toFixed(1)}–${f.max.toFixed(1)})`;
			console.log(`| ${name} | ${show(figure(samples.without.map((s) => s[metric])))} | ${show(figure(samples.with.map((s) => s[metric])))} |`);
		}
	} finally {
		await store.close();
		await client.query(`DROP SCHEMA IF EXISTS ${Q} CASCADE`).catch(() => undefined);
		await client.end();
	}
}
