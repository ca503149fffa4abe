// The Postgres bench: the store (PostgresStore, its migrations in a schema of its own) against a
// raw table in the same schema, on the same server, through the same kind of pg pool.

import { randomBytes } from 'crypto';
import { Client, Pool } from 'pg';
import { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';
import type { Query } from '../../nodes/shared/store/postgres/executor';
import { nowMs } from './measure';
import type { SuiteResult } from './results';
import { runScale } from './scale';
import { RAW_LABELS, RawSqlContender, createRawTable, preloadSql, sqlFootprint } from './sqlBench';
import { fmt, runStoreLevel } from './storeLevel';
import { GuardContender, md5Key } from './workload';

export interface PostgresBenchOptions {
	url: string;
	keys: number;
	runs: number;
	chunk: number;
	singles: number;
	/** Stored-key counts for the scale part; empty = skip it. */
	sizes: number[];
	scaleChunks: number;
	historyPerKey: 1 | 2;
	log: (line: string) => void;
	/** Registers a cleanup that also runs on Ctrl-C. */
	onCleanup: (cleanup: () => Promise<void>) => void;
}

export async function runPostgres(options: PostgresBenchOptions): Promise<SuiteResult[]> {
	const id = randomBytes(4).toString('hex');
	const schema = `bench_${id}`;
	const q = `"${schema}"`;
	const namespace = 'bench';
	const appName = `idem-bench-${id}`;

	const store = new PostgresStore({
		host: '',
		port: 0,
		database: '',
		user: '',
		ssl: 'disable',
		schema,
		maxConnections: 10,
		connectionString: options.url,
	});
	// The raw side goes through a pool too, as the store does.
	const pool = new Pool({ connectionString: options.url, max: 10, application_name: appName });
	const rawQuery: Query = async <R>(text: string, values: unknown[] = []) => (await pool.query(text, values)).rows as R[];
	// Loading and measuring sizes: two sessions with settings for bulk work (records and history load side by side).
	const admin = new Client({ connectionString: options.url, application_name: appName });
	const loader = new Client({ connectionString: options.url, application_name: appName });
	await admin.connect();
	await loader.connect();
	const sessionQuery =
		(client: Client): Query =>
		async <R>(text: string, values: unknown[] = []) =>
			(await client.query(text, values)).rows as R[];
	const adminQuery = sessionQuery(admin);
	const loaderQuery = sessionQuery(loader);

	let cleaned = false;
	const cleanup = async () => {
		if (cleaned) return;
		cleaned = true;
		await dropSchema(options.url, schema, appName).catch((error) => options.log(`    could not drop ${schema}: ${error.message}`));
		await Promise.allSettled([store.close(), pool.end(), admin.end(), loader.end()]);
	};
	options.onCleanup(cleanup);

	try {
		const health = await store.health(); // runs the store's migrations
		if (!health.ok) throw new Error(`Postgres store not ready: ${health.message}`);
		await createRawTable(adminQuery, q);
		for (const query of [adminQuery, loaderQuery]) {
			await query(`SET synchronous_commit = off`);
			await query(`SET maintenance_work_mem = '1GB'`);
		}
		const results: SuiteResult[] = [];

		options.log(`  Postgres, store level (schema ${schema}):`);
		results.push(
			await runStoreLevel(
				{
					store: 'Postgres',
					guard: new GuardContender(store, namespace),
					raw: new RawSqlContender(rawQuery, q, namespace),
					rawLabels: RAW_LABELS,
					reset: () => adminQuery(`TRUNCATE ${q}.records, ${q}.history, ${q}.raw_claims`).then(() => undefined),
					footprint: () =>
						sqlFootprint(adminQuery, q, 'Postgres', `after one store-level run (${fmt(options.keys)} keys claimed, processed, re-claimed)`),
				},
				options,
			),
		);

		if (options.sizes.length > 0) {
			options.log(`  Postgres, scale (${options.sizes.map(fmt).join(' → ')} stored keys):`);
			await adminQuery(`TRUNCATE ${q}.records, ${q}.history, ${q}.raw_claims`);
			const seed = `bench-${id}`;
			results.push(
				await runScale(
					{
						store: 'Postgres',
						guard: new GuardContender(store, namespace),
						preloadedKey: (i) => md5Key(seed, i),
						preload: async (from, to) => {
							const start = nowMs();
							await preloadSql(
								{
									records: adminQuery,
									history: loaderQuery,
									schema: q,
									namespace,
									seed,
									historyPerKey: options.historyPerKey,
									rebuildAbove: 200_000,
								},
								from,
								to,
							);
							const loaded = nowMs();
							// What autovacuum would do after a bulk load, done now so it does not run mid-measurement.
							await adminQuery(`VACUUM (ANALYZE) ${q}.records, ${q}.history`);
							return (
								`preloaded ${fmt(from)} → ${fmt(to)} processed keys (${options.historyPerKey} history events each) in ` +
								`${((loaded - start) / 1000).toFixed(0)} s, VACUUM ANALYZE ${((nowMs() - loaded) / 1000).toFixed(0)} s`
							);
						},
						footprint: (stored) => sqlFootprint(adminQuery, q, 'Postgres', `${fmt(stored)} preloaded`),
						// Server-wide counters: other work on the server adds to them (a little).
						counters: async () => {
							const [row] = await adminQuery<Record<string, string>>(
								`SELECT w.wal_bytes AS "WAL bytes", w.wal_fpi AS "WAL full-page images",
									d.blks_read AS "blocks read from outside shared_buffers", d.blks_hit AS "blocks found in shared_buffers"
								FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`,
							);
							return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, Number(value)]));
						},
					},
					{ sizes: options.sizes, runs: options.runs, chunksPerRun: options.scaleChunks, chunk: options.chunk, log: options.log },
				),
			);
		}
		return results;
	} finally {
		await cleanup();
	}
}

/** Drops the bench schema from a fresh session, after cancelling whatever the bench still runs there. */
async function dropSchema(url: string, schema: string, appName: string): Promise<void> {
	const client = new Client({ connectionString: url });
	await client.connect();
	try {
		await client.query(
			`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
			[appName],
		);
		await client.query(`SET lock_timeout = '60s'`);
		await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	} finally {
		await client.end();
	}
}
