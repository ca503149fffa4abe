// The embedded bench: the Postgres store's SQL on PGlite (Postgres in WASM, in a data folder, in
// a worker thread, as the embedded store runs it) against the raw table on the same PGlite
// instance; then the same store against itself with PGlite in the calling thread, which is what
// the worker thread costs. Store level only: PGlite is one process-local database, and scaling
// it to millions of keys is not its purpose.

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as pglite from '@electric-sql/pglite';
import { PGlite } from '@electric-sql/pglite';
import { pgliteExecutor, type PGliteLike, type PGliteProtocol } from '../../nodes/shared/store/embedded/pgliteExecutor';
import type { Query } from '../../nodes/shared/store/postgres/executor';
import { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';
import { workerExecutor } from '../../nodes/shared/store/embedded/workerExecutor';
import type { SuiteResult } from './results';
import { RAW_LABELS, RawSqlContender, createRawTable, sqlFootprint } from './sqlBench';
import { fmt, runStoreLevel } from './storeLevel';
import { GuardContender } from './workload';

export interface EmbeddedBenchOptions {
	keys: number;
	runs: number;
	chunk: number;
	singles: number;
	log: (line: string) => void;
	onCleanup: (cleanup: () => Promise<void>) => void;
}

export async function runEmbedded(options: EmbeddedBenchOptions): Promise<SuiteResult[]> {
	const inWorker = mkdtempSync(join(tmpdir(), 'idem-bench-pglite-'));
	const inThread = mkdtempSync(join(tmpdir(), 'idem-bench-pglite-thread-'));
	// The store as it ships: PGlite in a worker thread (workerExecutor.ts), reached by messages.
	const workerExec = workerExecutor({ dataDir: inWorker });
	// The same store with PGlite in the bench's own thread, as before the worker: the hop's cost.
	const db = new PGlite(inThread);
	let cleaned = false;
	const cleanup = async () => {
		if (cleaned) return;
		cleaned = true;
		// close() waits for a statement in flight; on Ctrl-C the folders go anyway.
		const late = () => new Promise((resolve) => setTimeout(resolve, 2000).unref());
		await Promise.all([Promise.race([db.close().catch(() => undefined), late()]), Promise.race([workerExec.close().catch(() => undefined), late()])]);
		rmSync(inWorker, { recursive: true, force: true });
		rmSync(inThread, { recursive: true, force: true });
	};
	options.onCleanup(cleanup);
	try {
		await db.waitReady;
		// The embedded store's own executor (named statements for the claim and the transition).
		const opened = { db: db as unknown as PGliteLike, pglite: pglite as unknown as Partial<PGliteProtocol> };
		const threadExec = pgliteExecutor(async () => opened, () => db.close());
		const schema = 'n8n_idempotency';
		const q = `"${schema}"`;
		const namespace = 'bench';
		const store = new PostgresStore({ kind: 'embedded', name: 'The embedded store', schema, executor: workerExec, where: inWorker });
		const threadStore = new PostgresStore({ kind: 'embedded', name: 'The embedded store', schema, executor: threadExec, where: inThread });
		for (const each of [store, threadStore]) {
			const health = await each.health();
			if (!health.ok) throw new Error(`Embedded store not ready: ${health.message}`);
		}
		// The raw side shares the store's PGlite (and its thread hop), as it would share a process.
		const query: Query = workerExec.query;
		await createRawTable(query, q);
		options.log(`  Embedded (PGlite), store level (data folder ${inWorker}):`);
		const main = await runStoreLevel(
			{
				store: 'Embedded (PGlite)',
				guard: new GuardContender(store, namespace),
				raw: new RawSqlContender(query, q, namespace),
				rawLabels: RAW_LABELS,
				reset: () => query(`TRUNCATE ${q}.records, ${q}.history, ${q}.raw_claims`).then(() => undefined),
				footprint: () =>
					sqlFootprint(query, q, 'Embedded (PGlite)', `after one store-level run (${fmt(options.keys)} keys claimed, processed, re-claimed)`),
			},
			options,
		);
		options.log(`  Embedded (PGlite), the worker thread's cost: the store with PGlite in a worker vs in n8n's thread (${inThread}):`);
		return [main, await runThreadHop(store, threadStore, [query, threadExec.query], q, options)];
	} finally {
		await cleanup();
	}
}

/**
 * The same Guard calls on two embedded stores in one run, taking turns: PGlite in a worker thread
 * (as shipped) against PGlite in the calling thread (as before). Reported as the worker's figure
 * against the in-thread one: what moving PGlite off n8n's thread costs.
 */
async function runThreadHop(store: PostgresStore, threadStore: PostgresStore, queries: Query[], q: string, options: EmbeddedBenchOptions): Promise<SuiteResult> {
	const namespace = 'bench-hop';
	const inThread = 'the same call with PGlite in the calling thread (before the worker)';
	const hop = await runStoreLevel(
		{
			store: 'Embedded (PGlite)',
			guard: new GuardContender(store, namespace),
			raw: new GuardContender(threadStore, namespace),
			rawLabels: { claim: inThread, reclaim: inThread, markProcessed: inThread, single: inThread },
			reset: async () => {
				await Promise.all(queries.map((query) => query(`TRUNCATE ${q}.records, ${q}.history`)));
			},
			footprint: async () => ({ store: 'Embedded (PGlite)', when: '', records: 0, bytesPerRecord: 0, historyBytesPerRecord: 0, parts: [] }),
		},
		options,
	);
	return {
		footprints: [],
		notes: [],
		// Side by side with the raw-ceiling rows above: named apart, held to "costs at most a fifth".
		comparisons: hop.comparisons.map((c) => ({
			...c,
			name: `${c.name}, PGlite in a worker thread`,
			target: c.section === 'latency' ? { kind: 'max', value: 1.25 } : { kind: 'min', value: 0.8 },
		})),
	};
}
