// The credential tests behind the "Test" button of both credentials: a real login (and write
// permission check, or PING), through a short-lived store that is closed afterwards.

import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { PostgresStore } from '../store/postgres/PostgresStore';
import { createRedisStore } from '../store/redis/RedisStore';
import type { IdempotencyStore } from '../store/types';
import { postgresConfig, redisConfig } from './resolveStore';

async function testStore(open: () => IdempotencyStore): Promise<INodeCredentialTestResult> {
	let store: IdempotencyStore | null = null;
	try {
		store = open();
		const health = await store.health();
		if (!health.ok) return { status: 'Error', message: health.message };
		return { status: 'OK', message: health.warning ? `${health.message}. Warning: ${health.warning}` : health.message };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	} finally {
		await store?.close().catch(() => undefined);
	}
}

export const credentialTest = {
	async idempotencyPostgresApiTest(
		this: ICredentialTestFunctions,
		credential: ICredentialsDecrypted,
	): Promise<INodeCredentialTestResult> {
		const { config } = postgresConfig(credential.data ?? {}) as { config: ConstructorParameters<typeof PostgresStore>[0] };
		return testStore(() => new PostgresStore({ ...config, maxConnections: 1 }));
	},
	async idempotencyRedisApiTest(
		this: ICredentialTestFunctions,
		credential: ICredentialsDecrypted,
	): Promise<INodeCredentialTestResult> {
		const { config } = redisConfig(credential.data ?? {}) as { config: Parameters<typeof createRedisStore>[0] };
		return testStore(() => createRedisStore(config));
	},
};
