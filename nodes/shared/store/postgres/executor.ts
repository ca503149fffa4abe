// Where the Postgres adapter's SQL runs: a pg connection pool (a Postgres server) or PGlite
// (Postgres compiled to WASM, in a data folder: the embedded store). The SQL is the same.

import { Pool, type PoolConfig } from 'pg';

/**
 * `name`: run as a named prepared statement — parsed and planned once per connection instead of
 * on every call (the claim statement takes longer to plan than a one-key claim takes to run).
 */
export type Query = <R = Record<string, unknown>>(text: string, values?: unknown[], name?: string) => Promise<R[]>;

export interface SqlExecutor {
	query: Query;
	/** Runs `work` in one transaction on one connection. */
	transaction<T>(work: (query: Query) => Promise<T>): Promise<T>;
	close(): Promise<void>;
}

/**
 * Postgres aborted the statement to break a deadlock (40P01) or a serialization conflict (40001,
 * under a server whose default isolation is stricter than read committed): it was rolled back
 * whole, so sending it again is the same as sending it the first time.
 */
export const RETRIED_CODES = new Set(['40P01', '40001']);
/** Tries per statement in all; a deadlock that persists after this is reported. */
export const MAX_TRIES = 5;

/**
 * Runs one statement, again when Postgres rolled it back for a deadlock or a serialization
 * conflict. Safe for every statement of the store: each runs alone (autocommit), so a rolled-back
 * one changed nothing, and each decides from what it reads when it runs (the server's clock
 * included), never from an earlier attempt. Our statements take row locks in one order (key
 * order) and should never meet here; this covers the rest (a user's own transaction holding our
 * rows, lock orders inside Postgres). A short random pause lets the other side finish first.
 */
export async function withRetry<T>(attempt: () => Promise<T>, tries = MAX_TRIES): Promise<T> {
	for (let tried = 1; ; tried++) {
		try {
			return await attempt();
		} catch (error) {
			const code = (error as { code?: string })?.code;
			if (tried >= tries || !code || !RETRIED_CODES.has(code)) throw error;
			await new Promise((resolve) => setTimeout(resolve, 10 * tried + Math.random() * 20 * tried));
		}
	}
}

export interface PoolOptions {
	/** How often a statement rolled back for a deadlock is sent (1 = never again; tests). */
	tries?: number;
	/** SQL run on every new connection before its first statement (the store's session settings). */
	sessionSetup?: string;
	/** Called for every new connection: after a failover the pool reconnects to a server that may be set up otherwise. */
	onConnect?: () => void;
}

export function poolExecutor(config: PoolConfig, options: PoolOptions = {}): SqlExecutor {
	const pool = new Pool({
		...config,
		// Awaited by the pool before the new client runs its first statement. A setup the server
		// refuses (a pooler that forbids it) leaves the session as it is: durability.ts reads it.
		onConnect: async (client) => {
			if (options.sessionSetup) await client.query(options.sessionSetup).catch(() => undefined);
			options.onConnect?.();
		},
	});
	const tries = options.tries ?? MAX_TRIES;
	// An idle client that loses its connection must not crash the n8n process.
	pool.on('error', () => undefined);
	return {
		query: async <R>(text: string, values: unknown[] = [], name?: string) =>
			withRetry(async () => (await pool.query(name ? { name, text, values } : { text, values })).rows as R[], tries),
		async transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
			const client = await pool.connect();
			try {
				await client.query('BEGIN');
				const result = await work(async <R>(text: string, values: unknown[] = []) => (await client.query(text, values)).rows as R[]);
				await client.query('COMMIT');
				return result;
			} catch (error) {
				await client.query('ROLLBACK').catch(() => undefined);
				throw error;
			} finally {
				client.release();
			}
		},
		close: () => pool.end(),
	};
}
