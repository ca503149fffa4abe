// Security: secrets never reach error messages; hashKeys keeps raw personal data out of both
// stores (records, history, exceptions); a namespace cannot reach another namespace's data.

import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { credentialTest } from '../../nodes/shared/n8n/credentialTests';
import { closeAllStores } from '../../nodes/shared/store/registry';
import { createRedisStore } from '../../nodes/shared/store/redis/RedisStore';
import { mockContext, postgresCredential, redisCredential } from '../helpers/n8nContext';
import { dropSchema, postgresTestStore, sql, uniqueSchema } from '../helpers/postgres';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

const schema = uniqueSchema('security');
const prefix = `test:security:${randomUUID().slice(0, 8)}:`;
const credentials = { idempotencyPostgresApi: postgresCredential(schema), idempotencyRedisApi: redisCredential(prefix) };
const SECRET = `S3cr3t-${randomUUID()}`;
const EMAIL = `jane.doe+${randomUUID().slice(0, 6)}@example.com`;
const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redis = new Redis({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379), lazyConnect: true });

async function redisKeys(): Promise<string[]> {
	const found: string[] = [];
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
		cursor = next;
		found.push(...keys);
	} while (cursor !== '0');
	return found;
}

beforeAll(async () => {
	await redis.connect();
});
afterAll(async () => {
	await closeAllStores();
	await dropSchema(schema);
	const keys = await redisKeys();
	if (keys.length) await redis.del(...keys);
	await redis.quit();
});

describe('secrets', () => {
	it('keeps the Postgres password out of node errors and credential test messages', async () => {
		const bad = { ...postgresCredential(schema), host: '127.0.0.1', port: 1, password: SECRET };
		const context = mockContext({
			items: [{ json: { email: EMAIL } }],
			parameters: { store: 'postgres', namespace: 'sec', keySource: 'fields', keyFields: 'email', options: {} },
			credentials: { idempotencyPostgresApi: bad },
		});
		const error = await new IdempotencyGuard().execute.call(context).then(() => null, (e: Error) => e);
		expect(error).not.toBeNull();
		expect(JSON.stringify({ message: error!.message, description: (error as { description?: string }).description })).not.toContain(SECRET);
		const test = await credentialTest.idempotencyPostgresApiTest.call({} as never, { id: '1', name: 'x', type: 'idempotencyPostgresApi', data: bad });
		expect(test.status).toBe('Error');
		expect(test.message).not.toContain(SECRET);
	});

	it('keeps a wrong Redis password out of error messages', async () => {
		const store = createRedisStore({ host: redisUrl.hostname, port: 1, password: SECRET, database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });
		const error = await store.get('ns', 'k').then(() => null, (e: Error) => e);
		await store.close();
		expect(error?.message).toMatch(/1/);
		expect(error?.message).not.toContain(SECRET);
		const test = await credentialTest.idempotencyRedisApiTest.call({} as never, {
			id: '1', name: 'x', type: 'idempotencyRedisApi', data: { ...redisCredential(prefix), port: 1, password: SECRET },
		});
		expect(test.status).toBe('Error');
		expect(test.message).not.toContain(SECRET);
	});
});

describe.each(CREDENTIAL_KINDS)('hashKeys on %s', (store) => {
	it('leaves the raw email nowhere in the store: records, history or exceptions', async () => {
		const namespace = `pii-${store}`;
		const items: INodeExecutionData[] = [{ json: { email: EMAIL } }];
		const guard = (options: IDataObject) =>
			new IdempotencyGuard().execute.call(
				mockContext({ items, parameters: { store, namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'fields', fingerprintFields: 'email', options }, credentials }),
			);
		const [fresh] = await guard({ hashKeys: true });
		expect((fresh[0].json._idempotency as IDataObject).key).toMatch(/^sha256:/);
		const extra = { getParentNodes: () => [], getWorkflowDataProxy: () => ({}) };
		await new StateLedger().execute.call(
			mockContext({ items: fresh, parameters: { store, operation: 'markFailed', keySource: 'metadata', errorMessage: 'CRM down', options: {} }, credentials, extra }),
		);
		const [, , ambiguous] = await guard({ hashKeys: true, onFailed: 'ambiguous' });
		await new ExceptionRouter().execute.call(
			mockContext({ items: ambiguous, parameters: { store, operation: 'route', keySource: 'metadata', reason: 'fromItem', rules: {}, fallbackOwner: 'ops', options: {} }, credentials, extra }),
		);

		if (store === 'postgres') {
			const dump = await sql<{ t: string }>(
				`SELECT row_to_json(r)::text AS t FROM "${schema}".records r
				 UNION ALL SELECT row_to_json(h)::text FROM "${schema}".history h
				 UNION ALL SELECT row_to_json(e)::text FROM "${schema}".exceptions e`,
			);
			expect(dump.length).toBeGreaterThanOrEqual(4);
			expect(dump.map((r) => r.t).join('\n')).not.toContain(EMAIL);
		} else {
			const keys = await redisKeys();
			expect(keys.length).toBeGreaterThan(0);
			const contents: string[] = [...keys];
			for (const key of keys) {
				const type = await redis.type(key);
				if (type === 'hash') contents.push(JSON.stringify(await redis.hgetall(key)));
				else if (type === 'list') contents.push(...(await redis.lrange(key, 0, -1)));
				else if (type === 'zset') contents.push(...(await redis.zrange(key, 0, -1)));
				else if (type === 'string') contents.push(String(await redis.get(key)));
				else if (type === 'set') contents.push(...(await redis.smembers(key)));
			}
			expect(contents.join('\n')).not.toContain(EMAIL);
			expect(contents.join('\n').toLowerCase()).not.toContain(EMAIL.toLowerCase());
		}
	});
});

describe('namespace boundaries', () => {
	const policy = { leaseMs: 1000, retentionMs: 1, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' } as const;
	const actor = { workflowId: 'w', executionId: 'e', node: 'n' };
	const open = (store: CredentialKind) =>
		store === 'postgres'
			? postgresTestStore(schema, 2)
			: createRedisStore({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });

	it.each(CREDENTIAL_KINDS)('on %s a namespace with wildcards or braces cannot purge or read another', async (kind) => {
		const store = open(kind);
		const victim = `victim-${kind}`;
		const past = Date.now() - 10_000;
		const [claim] = await store.claim(victim, [{ key: 'shared-key', fingerprint: null }], policy, actor, past);
		await store.transition(victim, [{ kind: 'markProcessed', key: 'shared-key', claimToken: claim.claimToken, verifyClaim: true, force: false, retentionMs: 1, resultJson: '{}' }], actor, past + 1);
		// The victim's key is past retention: exactly what a purge deletes — but only its own.
		for (const attacker of [`${victim}*`, '*', `${victim}}`, `{${victim}}`, `${victim}:r:shared-key`, '%', `${victim}%`, `${victim}\\`]) {
			expect(await store.purge(attacker)).toEqual({ records: 0, history: 0 });
			expect(await store.get(attacker, 'shared-key')).toBeNull();
			expect(await store.history(attacker, 'shared-key')).toEqual([]);
		}
		expect(await store.get(victim, 'shared-key')).not.toBeNull();
		expect((await store.purge(victim)).records).toBe(1);
		await store.close();
	});
});
