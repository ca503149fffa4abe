// A Redis that evicts keys (issue 11 item 1): under any maxmemory-policy but noeviction, Redis
// drops records when it is full — settled ones first under volatile-*, they carry a TTL — and the
// next delivery of a processed event is new: a second write. The store reads the policy at first
// use and in the credential test, and refuses to claim unless the credential's allowEviction
// accepts the risk. Each case runs on a private redis-server the test starts.

import { randomUUID } from 'crypto';
import { credentialTest } from '../../../nodes/shared/n8n/credentialTests';
import { StoreMisconfiguredError } from '../../../nodes/shared/store/errors';
import { createRedisStore, type RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import { startRedis, type PrivateRedis } from '../../helpers/redisServer';
import { claimPolicy, TEST_ACTOR } from '../../helpers/claims';

const policy = claimPolicy();
const actor = TEST_ACTOR;
const RESULT = JSON.stringify({ body: 'x'.repeat(1000) });

const storeOn = (server: PrivateRedis, extra: { allowEviction?: boolean; username?: string; password?: string } = {}): RedisStore =>
	createRedisStore({ host: server.host, port: server.port, database: 0, tls: false, keyPrefix: 'idem:', mode: 'standalone', allowNoPersistence: true, ...extra });

const credentialData = (server: PrivateRedis, extra: Record<string, unknown> = {}) => ({
	id: 'c',
	name: 'redis',
	type: 'idempotencyRedisApi',
	data: { mode: 'standalone', host: server.host, port: server.port, database: 0, tls: false, keyPrefix: 'idem:', allowNoPersistence: true, ...extra },
});

/** Claims and settles batches of keys until Redis reports evictions; returns the processed keys. */
async function fillUntilEvicted(store: RedisStore, server: PrivateRedis, ns: string): Promise<string[]> {
	const processed: string[] = [];
	for (let batch = 0; batch < 60; batch++) {
		const keys = Array.from({ length: 100 }, (_, i) => `k-${batch}-${i}`);
		const claims = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), policy, actor);
		const results = await store.transition(
			ns,
			claims
				.filter((c) => c.outcome === 'new')
				.map((c) => ({ key: c.key, kind: 'markProcessed' as const, claimToken: c.claimToken, verifyClaim: true, force: false, retentionMs: 0, resultJson: RESULT })),
			actor,
		);
		processed.push(...results.filter((r) => r.applied).map((r) => r.key));
		const stats = await server.admin.info('stats');
		if (Number(/evicted_keys:(\d+)/.exec(stats)?.[1] ?? 0) > 0) return processed;
	}
	throw new Error('Redis never evicted a key');
}

describe.each(['allkeys-lru', 'volatile-lru'])('a Redis with --maxmemory 3mb --maxmemory-policy %s', (evictionPolicy) => {
	let server: PrivateRedis;

	beforeAll(async () => {
		server = await startRedis(['--maxmemory', '3mb', '--maxmemory-policy', evictionPolicy]);
	});
	afterAll(async () => {
		await server.stop();
	});

	it('refuses to claim, naming the setting and the fix, and writes nothing', async () => {
		const store = storeOn(server);
		try {
			const error = await store.claim(`ns-${randomUUID()}`, [{ key: 'invoice-1', fingerprint: null }], policy, actor).then(
				() => null,
				(e: Error) => e,
			);
			expect(error).toBeInstanceOf(StoreMisconfiguredError);
			expect(error?.message).toContain(`evicts keys (maxmemory-policy ${evictionPolicy})`);
			expect(error?.message).toMatch(/second write/);
			expect((error as StoreMisconfiguredError | null)?.hint).toMatch(/maxmemory-policy noeviction/);
			expect((error as StoreMisconfiguredError | null)?.hint).toMatch(/"Allow Eviction"/);
			expect(await server.admin.dbsize()).toBe(0);
		} finally {
			await store.close();
		}
	});

	it('the credential test fails and says why', async () => {
		const result = await credentialTest.idempotencyRedisApiTest.call({} as never, credentialData(server) as never);
		expect(result.status).toBe('Error');
		expect(result.message).toContain(`maxmemory-policy ${evictionPolicy}`);
		expect(result.message).toMatch(/"Allow Eviction"/);
	});

	it('with allowEviction on, claims go ahead — and an evicted processed key comes back new (the accepted risk)', async () => {
		const result = await credentialTest.idempotencyRedisApiTest.call({} as never, credentialData(server, { allowEviction: true }) as never);
		// a risk the credential accepts tests green; the message still says what was accepted
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(/Accepted in the credential: .*maxmemory-policy .*"Allow Eviction" is on/);

		const store = storeOn(server, { allowEviction: true });
		try {
			const ns = `ns-${randomUUID()}`;
			const processed = await fillUntilEvicted(store, server, ns);
			const again = [];
			for (let i = 0; i < processed.length; i += 1000) {
				again.push(...(await store.claim(ns, processed.slice(i, i + 1000).map((key) => ({ key, fingerprint: null })), policy, actor)));
			}
			const newAgain = again.filter((d) => d.outcome === 'new').length;
			// Measured, not asserted to a figure: how many processed keys Redis forgot.
			console.log(`${evictionPolicy}: ${newAgain} of ${processed.length} processed keys were new again after eviction`);
			expect(newAgain).toBeGreaterThan(0);
		} finally {
			await store.close();
		}
	});
});

describe('a Redis whose maxmemory-policy cannot be read the usual way', () => {
	it('CONFIG renamed away (as on ElastiCache): the policy is read from INFO, noeviction claims', async () => {
		const server = await startRedis(['--rename-command', 'CONFIG', '']);
		const store = storeOn(server);
		try {
			const [decision] = await store.claim('ns', [{ key: 'a', fingerprint: null }], policy, actor);
			expect(decision.outcome).toBe('new');
		} finally {
			await store.close();
			await server.stop();
		}
	});

	it('CONFIG renamed away and allkeys-lru: refused, read from INFO', async () => {
		const server = await startRedis(['--rename-command', 'CONFIG', '', '--maxmemory-policy', 'allkeys-lru']);
		const store = storeOn(server);
		try {
			await expect(store.claim('ns', [{ key: 'a', fingerprint: null }], policy, actor)).rejects.toThrow(
				/maxmemory-policy allkeys-lru/,
			);
		} finally {
			await store.close();
			await server.stop();
		}
	});

	it('neither CONFIG nor INFO allowed: the policy is unknown, claims are refused and the error says so', async () => {
		const server = await startRedis();
		await server.admin.call('ACL', 'SETUSER', 'app', 'on', '>secret', '~*', '+@all', '-config', '-info');
		const store = storeOn(server, { username: 'app', password: 'secret' });
		try {
			const error = await store.claim('ns', [{ key: 'a', fingerprint: null }], policy, actor).then(() => null, (e: Error) => e);
			expect(error).toBeInstanceOf(StoreMisconfiguredError);
			expect(error?.message).toMatch(/maxmemory-policy could not be read: CONFIG GET failed: NOPERM.*INFO memory failed: NOPERM/);
			expect((error as StoreMisconfiguredError | null)?.hint).toMatch(/"Allow Eviction"/);
			expect(await server.admin.dbsize()).toBe(0);
			const allowed = storeOn(server, { username: 'app', password: 'secret', allowEviction: true });
			expect((await allowed.claim('ns', [{ key: 'a', fingerprint: null }], policy, actor))[0].outcome).toBe('new');
			await allowed.close();
		} finally {
			await store.close();
			await server.stop();
		}
	});
});
