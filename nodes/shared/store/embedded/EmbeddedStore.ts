// The embedded store (docs/CONTRACT.md §9): the Postgres adapter's schema and SQL running on PGlite —
// Postgres compiled to WASM — in a data folder under the n8n user folder. For a single n8n
// instance with no Postgres or Redis. PGlite runs one statement at a time, so every claim and
// transition stays atomic for all executions of the process; another process cannot share the
// folder, hence the refusal in queue mode.

import { mkdirSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { InvalidInputError } from '../errors';
import type { SqlExecutor } from '../postgres/executor';
import { PostgresStore } from '../postgres/PostgresStore';
import { pgliteExecutor, type OpenedPGlite, type PGliteLike, type PGliteProtocol } from './pgliteExecutor';

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

function openingExecutor(dataDir: string): SqlExecutor {
	let opened: Promise<OpenedPGlite> | null = null;
	const open = () => {
		if (!opened) {
			opened = (async () => {
				mkdirSync(dataDir, { recursive: true });
				// Loaded on first use only: Postgres and Redis users never load the WASM build.
				const pglite = (await import('@electric-sql/pglite')) as unknown as Partial<PGliteProtocol> & {
					PGlite: new (dir: string) => PGliteLike;
				};
				const db = new pglite.PGlite(dataDir);
				await db.waitReady;
				return { db, pglite };
			})();
			opened.catch(() => {
				opened = null;
			});
		}
		return opened;
	};
	return pgliteExecutor(open, async () => {
		if (opened) await (await opened).db.close();
		opened = null;
	});
}

export function createEmbeddedStore(dataDir: string = defaultDataDir()): PostgresStore {
	assertNotQueueMode();
	return new PostgresStore({ kind: 'embedded', name: 'The embedded store', schema: EMBEDDED_SCHEMA, executor: openingExecutor(dataDir), where: dataDir });
}
