// The embedded store (SPEC §9): the Postgres adapter's schema and SQL running on PGlite —
// Postgres compiled to WASM — in a data folder under the n8n user folder. For a single n8n
// instance with no Postgres or Redis. PGlite runs one statement at a time, so every claim and
// transition stays atomic for all executions of the process; another process cannot share the
// folder, hence the refusal in queue mode.

import { mkdirSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { InvalidInputError } from '../errors';
import type { Query, SqlExecutor } from '../postgres/executor';
import { PostgresStore } from '../postgres/PostgresStore';

export const EMBEDDED_SCHEMA = 'n8n_idempotency';

/** `$N8N_USER_FOLDER/.n8n/idempotency` (n8n's own layout), else `~/.n8n/idempotency`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
	return join(env.N8N_USER_FOLDER || homedir(), '.n8n', 'idempotency');
}

export function assertNotQueueMode(env: NodeJS.ProcessEnv = process.env): void {
	if (env.EXECUTIONS_MODE === 'queue') {
		throw new InvalidInputError(
			'The embedded store cannot be used in queue mode: each worker would keep its own, separate copy of the claims',
			'Set Store to Postgres or Redis, which every worker shares.',
		);
	}
}

interface PGliteQueries {
	query<R>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
	exec(text: string): Promise<Array<{ rows: unknown[] }>>;
}

interface PGliteLike extends PGliteQueries {
	transaction<T>(work: (tx: PGliteQueries) => Promise<T>): Promise<T>;
	close(): Promise<void>;
	waitReady: Promise<void>;
}

// A statement without parameters may be a script of several (the migrations): PGlite runs those
// through exec, the simple protocol; everything else through query, as prepared statements.
async function run<R>(db: PGliteQueries, text: string, values: unknown[]): Promise<R[]> {
	if (values.length === 0) {
		const results = await db.exec(text);
		return (results[results.length - 1]?.rows ?? []) as R[];
	}
	return (await db.query<R>(text, values)).rows;
}

function pgliteExecutor(dataDir: string): SqlExecutor {
	let opened: Promise<PGliteLike> | null = null;
	const open = () => {
		if (!opened) {
			opened = (async () => {
				mkdirSync(dataDir, { recursive: true });
				// Loaded on first use only: Postgres and Redis users never load the WASM build.
				const { PGlite } = (await import('@electric-sql/pglite')) as unknown as {
					PGlite: new (dir: string) => PGliteLike;
				};
				const db = new PGlite(dataDir);
				await db.waitReady;
				return db;
			})();
			opened.catch(() => {
				opened = null;
			});
		}
		return opened;
	};
	const query: Query = async <R>(text: string, values: unknown[] = []) => run<R>(await open(), text, values);
	return {
		query,
		async transaction<T>(work: (q: Query) => Promise<T>): Promise<T> {
			const db = await open();
			return db.transaction((tx) => work(async <R>(text: string, values: unknown[] = []) => run<R>(tx, text, values)));
		},
		async close() {
			if (opened) await (await opened).close();
			opened = null;
		},
	};
}

export function createEmbeddedStore(dataDir: string = defaultDataDir()): PostgresStore {
	assertNotQueueMode();
	return new PostgresStore({ kind: 'embedded', schema: EMBEDDED_SCHEMA, executor: pgliteExecutor(dataDir), where: dataDir });
}
