// A Postgres store on its own throw-away schema, so test files never collide.
import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { PostgresStore } from '../../nodes/shared/store/postgres/PostgresStore';

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueSchema(label: string): string {
	return `t_${label.replace(/[^a-z0-9_]/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

export function postgresTestStore(schema: string, maxConnections = 10): PostgresStore {
	return new PostgresStore({
		host: '',
		port: 0,
		database: '',
		user: '',
		ssl: 'disable',
		schema,
		maxConnections,
		connectionString: POSTGRES_URL,
	});
}

export async function dropSchema(schema: string): Promise<void> {
	const client = new Client({ connectionString: POSTGRES_URL });
	await client.connect();
	try {
		await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	} finally {
		await client.end();
	}
}

export async function sql<T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
	const client = new Client({ connectionString: POSTGRES_URL });
	await client.connect();
	try {
		return (await client.query(text, values)).rows as T[];
	} finally {
		await client.end();
	}
}
