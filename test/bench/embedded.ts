// The embedded bench: the Postgres store's SQL on PGlite (Postgres in WASM, in a data folder, as
// the embedded store runs it) against the raw table on the same PGlite instance. Store level only:
// PGlite is one process-local database, and scaling it to millions of keys is not its purpose.

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as pglite from '@electric-sql/pglite';
import { PGlite } from '@electric-sql/pglite';
import { pgliteExecutor, type PGliteLike, type PGliteProtocol } from '../../nodes/shared/store/embedded/pgliteExecutor';
import type { Query } from '../../nodes/shared/store/postgres/executor';
import { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';
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
	const dir = mkdtempSync(join(tmpdir(), 'idem-bench-pglite-'));
	const db = new PGlite(dir);
	let cleaned = false;
	const cleanup = async () => {
		if (cleaned) return;
		cleaned = true;
		// close() waits for a statement in flight; on Ctrl-C the folder goes anyway.
		await Promise.race([db.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
		rmSync(dir, { recursive: true, force: true });
	};
	options.onCleanup(cleanup);
	try {
		await db.waitReady;
		// The embedded store's own executor (named statements for the claim and the transition).
		const opened = { db: db as unknown as PGliteLike, pglite: pglite as unknown as Partial<PGliteProtocol> };
		const exec = pgliteExecutor(async () => opened, () => db.close());
		const query: Query = exec.query;
		const schema = 'n8n_idempotency';
		const q = `"${schema}"`;
		const namespace = 'bench';
		// The store and the raw side share the one PGlite instance, as they would share a process.
		const store = new PostgresStore({ kind: 'embedded', name: 'The embedded store', schema, executor: exec, where: dir });
		const health = await store.health();
		if (!health.ok) throw new Error(`Embedded store not ready: ${health.message}`);
		await createRawTable(query, q);
		options.log(`  Embedded (PGlite), store level (data folder ${dir}):`);
		return [
			await runStoreLevel(
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
			),
		];
	} finally {
		await cleanup();
	}
}
