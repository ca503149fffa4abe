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

export function poolExecutor(config: PoolConfig): SqlExecutor {
	const pool = new Pool(config);
	// An idle client that loses its connection must not crash the n8n process.
	pool.on('error', () => undefined);
	return {
		query: async <R>(text: string, values: unknown[] = [], name?: string) =>
			(await pool.query(name ? { name, text, values } : { text, values })).rows as R[],
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
