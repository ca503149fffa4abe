// The embedded store (docs/CONTRACT.md §9): the Postgres adapter's schema and SQL running on PGlite —
// Postgres compiled to WASM — in a data folder under the n8n user folder. For a single n8n
// instance with no Postgres or Redis. PGlite runs one statement at a time, so every claim and
// transition stays atomic for all executions of the process; another process cannot share the
// folder: queue mode is refused, and a second process on the folder gets a clear error from the
// folder's lock (folderLock.ts). PGlite runs in a worker thread under a watchdog, with a
// free-space floor, so a full disk cannot stop n8n (workerExecutor.ts).

import { homedir } from 'os';
import { join } from 'path';
import { InvalidInputError } from '../errors';
import { PostgresStore } from '../postgres/PostgresStore';
import { workerExecutor, type EmbeddedExecutorOptions } from './workerExecutor';

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

/** `limits`: the free-space floor and watchdog times (tests shorten them; see workerExecutor.ts). */
export function createEmbeddedStore(dataDir: string = defaultDataDir(), limits: Omit<EmbeddedExecutorOptions, 'dataDir'> = {}): PostgresStore {
	assertNotQueueMode();
	return new PostgresStore({ kind: 'embedded', name: 'The embedded store', schema: EMBEDDED_SCHEMA, executor: workerExecutor({ ...limits, dataDir }), where: dataDir });
}
