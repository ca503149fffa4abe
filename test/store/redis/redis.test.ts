// The store conformance suites (conformance/) on the real Redis, plus what only the Redis adapter
// has: the key layout (hash tags, one slot per namespace, exception ids naming their namespace),
// real TTLs, the indexes behind list/stats/purge and how they heal, the scan budget of a list
// page, atomicity of a failing script, script reloading, a client the caller owns, the
// persistence warning, and proof that the race test catches a read-then-write claim. Every key
// lives under a prefix unique to this file. The Cluster runs in redisCluster.test.ts.

import { randomBytes, randomUUID } from 'crypto';
import { Redis } from 'ioredis';
import { IdempotencyError, InvalidInputError, StoreUnavailableError } from '../../../nodes/shared/store/errors';
import { NamespaceKeys, namespaceTag, openExceptionsEverywhere } from '../../../nodes/shared/store/redis/keys';
import { RedisStore, type RedisStoreConfig } from '../../../nodes/shared/store/redis/RedisStore';
import type { ClaimPolicy, TransitionKind, TransitionRequest } from '../../../nodes/shared/store/types';
import { startTcpProxy } from '../../helpers/tcpProxy';
import { actor, basePolicy as conformancePolicy, DAY, describeStoreConformance, MINUTE, raceRounds, transitionRequest } from '../conformance';
import { HOSTILE_NAMESPACES } from '../conformance/keys';
import { exceptionRequest, resolutionRequest } from '../conformance/fixture';

// Redis Cluster's own slot function (a dependency of ioredis, which routes cluster calls with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterKeySlot = require('cluster-key-slot') as (key: string) => number;

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Test clients end promptly, so that Jest can exit right after the run.
const TEST_CLIENT_OPTIONS = { disconnectTimeout: 100 };
const PREFIX = `test:${randomBytes(4).toString('hex')}:`;

function configFromUrl(url: string, keyPrefix: string): RedisStoreConfig {
	const parsed = new URL(url);
	return {
		host: parsed.hostname,
		port: Number(parsed.port || 6379),
		username: decodeURIComponent(parsed.username) || undefined,
		password: decodeURIComponent(parsed.password) || undefined,
		database: Number(parsed.pathname.replace('/', '') || 0),
		tls: parsed.protocol === 'rediss:',
		keyPrefix,
		mode: 'standalone',
		// The test Redis keeps nothing on disk: its claims would be refused without this.
		allowNoPersistence: true,
	};
}

const config = configFromUrl(REDIS_URL, PREFIX);
const openStore = () => new RedisStore(config);

async function deleteKeys(admin: Redis, pattern: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		if (keys.length) await admin.del(...keys);
	} while (cursor !== '0');
}

async function keysUnder(admin: Redis, pattern: string): Promise<string[]> {
	const found: string[] = [];
	let cursor = '0';
	do {
		const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		found.push(...keys);
	} while (cursor !== '0');
	return found;
}

// Runs last in this file, whichever tests were selected: everything under the prefix goes.
afterAll(async () => {
	const admin = new Redis(REDIS_URL, TEST_CLIENT_OPTIONS);
	await deleteKeys(admin, `${PREFIX}*`);
	await admin.quit();
});

describeStoreConformance(
	'Redis',
	async () => {
		const store = openStore();
		return {
			store,
			openPeer: async () => openStore(),
			cleanup: () => store.close(),
			openProxied: async () => {
				const proxy = await startTcpProxy(config.host, config.port);
				const proxied = new RedisStore({ ...config, host: proxy.host, port: proxy.port });
				return {
					store: proxied,
					proxy,
					// ioredis writes command names in lower case: EVAL and EVALSHA both carry it.
					claimMarker: 'eval',
					transitionMarker: 'eval',
					close: async () => {
						await proxied.close();
						await proxy.close();
					},
				};
			},
			openUnreachable: () => new RedisStore({ ...config, host: '127.0.0.1', port: 1 }),
			unreachableWhere: '127.0.0.1:1',
		};
	},
	{ faults: true },
);

describe('Redis store specifics', () => {
	const T0 = 1_700_000_000_000;
	const basePolicy: ClaimPolicy = { ...conformancePolicy, retentionMs: 0 };
	let admin: Redis;
	let store: RedisStore;
	let ns: string;

	beforeAll(() => {
		admin = new Redis(REDIS_URL, TEST_CLIENT_OPTIONS);
		store = openStore();
	});
	afterAll(async () => {
		await store.close();
		await admin.quit();
	});
	beforeEach(() => {
		ns = `ns-${randomUUID()}`;
	});

	const keysOf = (namespace: string) => new NamespaceKeys(PREFIX, namespace);
	const claimOne = async (key: string, now: number, policy: Partial<ClaimPolicy> = {}, fingerprint: string | null = null) =>
		(await store.claim(ns, [{ key, fingerprint }], { ...basePolicy, ...policy }, actor, now))[0];
	const request = (kind: TransitionKind, key: string, extra: Partial<TransitionRequest> = {}): TransitionRequest =>
		transitionRequest(kind, key, null, { retentionMs: 0, ...extra });
	const transitionOne = async (req: TransitionRequest, now: number) => (await store.transition(ns, [req], actor, now))[0];
	const resolution = resolutionRequest;

	it('decides a key repeated inside one chunk in order (the second sees the first claim)', async () => {
		const decisions = await store.claim(ns, [{ key: 'k', fingerprint: null }, { key: 'k', fingerprint: null }], basePolicy, actor, T0);
		expect(decisions.map((d) => d.outcome)).toEqual(['new', 'ambiguous']);
	});

	describe('exception queue', () => {
		const everywhere = openExceptionsEverywhere(PREFIX);

		it('gives ids `<uuid>.<namespace tag>` that find the exception without its namespace', async () => {
			for (const namespace of ['crm.leads-2', 'a}b', 'ñ 日本 🧾']) {
				const [exception] = await store.recordExceptions(namespace, [exceptionRequest(`k-${ns}`)], actor, T0);
				expect(exception.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_.~-]+$/);
				expect(exception.id.slice(37)).toBe(namespaceTag(namespace));
				expect(await store.getException(exception.id)).toEqual(exception);
				// Pasted with a capitalised uuid or surrounding blanks, it is the same id.
				expect(await store.getException(` ${exception.id.slice(0, 36).toUpperCase()}${exception.id.slice(36)} `)).toEqual(exception);
			}
		});

		it('finds nothing for ids shaped like its own that name no exception', async () => {
			const uuid = randomUUID();
			const [real] = await store.recordExceptions(ns, [exceptionRequest('k')], actor, T0);
			for (const id of [`${uuid}.~!!`, `${uuid}.~_w`, `${uuid}.~YX0`, `${uuid}.${namespaceTag(ns)}`, `${real.id.slice(0, 37)}${namespaceTag(`${ns}x`)}`]) {
				expect({ id, found: await store.getException(id) }).toEqual({ id, found: null });
				const resolved = await store.resolveException(resolution({ id, resolution: 'replay' }), actor, T0 + 1);
				expect({ id, resolved }).toEqual({ id, resolved: { exceptions: [], record: null } });
			}
			expect((await store.getException(real.id))?.status).toBe('open');
		});

		it('gives the history of a key without a record a TTL when a resolution writes it', async () => {
			const [exception] = await store.recordExceptions(ns, [exceptionRequest('unseen')], actor, T0);
			await store.resolveException(resolution({ id: exception.id, resolution: 'discard' }), actor, T0 + 1);
			expect((await store.history(ns, 'unseen')).map((h) => h.event)).toEqual(['forced']);
			expect(await admin.pttl(keysOf(ns).history('unseen'))).toBeGreaterThan(30 * DAY);
		});

		it('keeps the indexes in step when a replay releases a key', async () => {
			const d = await claimOne('k', T0, { retentionMs: DAY });
			await transitionOne(request('markProcessed', 'k', { claimToken: d.claimToken }), T0 + 1);
			const [exception] = await store.recordExceptions(ns, [exceptionRequest('k'), exceptionRequest('j')], actor, T0 + 2);
			await store.resolveException(resolution({ id: exception.id, resolution: 'replay' }), actor, T0 + 4);
			for (const index of [keysOf(ns).keysIndex, keysOf(ns).stateIndex('processed'), keysOf(ns).expiryIndex]) {
				expect(await admin.zscore(index, 'k')).toBeNull();
			}
			expect(await admin.zrange(keysOf(ns).openExceptionsIndex, 0, -1)).toHaveLength(1);
			expect(await admin.zscore(everywhere, exception.id)).toBeNull();
		});

		it('lists across namespaces from an index that drops stale ids and is rewritten by the next occurrence', async () => {
			const other = `${ns}-other`;
			const [a] = await store.recordExceptions(ns, [exceptionRequest('a', 'r', { owner: ns })], actor, T0 - 2000);
			const [b] = await store.recordExceptions(other, [exceptionRequest('b', 'r', { owner: ns })], actor, T0 - 1000);
			const [c] = await store.recordExceptions(ns, [exceptionRequest('c', 'r', { owner: ns })], actor, T0);
			const listed = async (query: Partial<Parameters<RedisStore['listOpenExceptions']>[0]> = {}) =>
				(await store.listOpenExceptions({ owner: ns, limit: 10, ...query }, T0 + 1)).map((e) => e.key);
			expect(await listed()).toEqual(['a', 'b', 'c']);
			expect(await listed({ olderThanMs: 1000 })).toEqual(['a', 'b']);
			expect(await listed({ limit: 1 })).toEqual(['a']);
			expect(await listed({ namespace: other })).toEqual(['b']);

			// What a failed best-effort write leaves behind: a resolved id still indexed, an unknown id.
			await store.resolveException(resolution({ id: a.id, resolution: 'discard' }), actor, T0 + 1);
			const unknown = `${randomUUID()}.${namespaceTag(ns)}`;
			await admin.zadd(everywhere, T0 - 3000, a.id, T0 - 3000, unknown);
			expect(await listed()).toEqual(['b', 'c']);
			expect(await admin.zscore(everywhere, a.id)).toBeNull();
			expect(await admin.zscore(everywhere, unknown)).toBeNull();

			// The index write after the script was lost: the namespace still knows, and a repeat heals it.
			await admin.zrem(everywhere, b.id);
			expect(await listed()).toEqual(['c']);
			expect(await listed({ namespace: other })).toEqual(['b']);
			const [again] = await store.recordExceptions(other, [exceptionRequest('b', 'r', { owner: ns })], actor, T0 + 2);
			expect(again).toMatchObject({ id: b.id, occurrences: 2 });
			expect(await listed()).toEqual(['b', 'c']);
			expect(c.status).toBe('open');
		});

		it('resolves nothing and changes nothing when a script fails part way (a foreign key in the way)', async () => {
			await claimOne('k', T0);
			const [exception] = await store.recordExceptions(ns, [exceptionRequest('k')], actor, T0 + 1);
			await admin.set(keysOf(ns).history('k'), 'not a list');
			await expect(store.resolveException(resolution({ id: exception.id, resolution: 'replay' }), actor, T0 + 2)).rejects.toThrow(IdempotencyError);
			expect(await store.getException(exception.id)).toEqual(exception);
			expect((await store.get(ns, 'k'))?.state).toBe('processing');

			await admin.set(keysOf(ns).openExceptions('blocked'), 'not a hash');
			await expect(store.recordExceptions(ns, [exceptionRequest('first'), exceptionRequest('blocked')], actor, T0 + 3)).rejects.toThrow(IdempotencyError);
			expect(await store.listOpenExceptions({ namespace: ns, limit: 10 }, T0 + 4)).toEqual([exception]);
		});
	});

	describe('retention and real TTLs', () => {
		it('forgets a settled record logically at expiresAt and gives record and history a real TTL', async () => {
			const d = await claimOne('k', T0, { retentionMs: 10_000 });
			expect(await admin.pttl(keysOf(ns).record('k'))).toBe(-1);
			await transitionOne(request('markProcessed', 'k', { claimToken: d.claimToken, resultJson: '{"id":7}' }), T0 + 100);
			for (const key of [keysOf(ns).record('k'), keysOf(ns).history('k')]) {
				const ttl = await admin.pttl(key);
				expect(ttl).toBeGreaterThan(DAY);
				expect(ttl).toBeLessThanOrEqual(DAY + 10_000);
			}
			// The logical forgetting at expiresAt is conformance (claim.ts); here: the TTLs go with it.
			expect(await claimOne('k', T0 + 10_100)).toMatchObject({ outcome: 'new', reason: 'first_seen' });
			expect(await admin.pttl(keysOf(ns).record('k'))).toBe(-1);
			expect(await admin.pttl(keysOf(ns).history('k'))).toBe(-1);
		});

		it('removes the TTL when a settled record is claimed again (retry after failure)', async () => {
			const d = await claimOne('k', T0, { retentionMs: DAY });
			await transitionOne(request('markFailed', 'k', { claimToken: d.claimToken }), T0 + 1);
			expect(await admin.pttl(keysOf(ns).record('k'))).toBeGreaterThan(DAY);
			expect(await claimOne('k', T0 + 2)).toMatchObject({ outcome: 'new', reason: 'retry_after_failure' });
			expect(await admin.pttl(keysOf(ns).record('k'))).toBe(-1);
			expect(await admin.pttl(keysOf(ns).history('k'))).toBe(-1);
			expect(await admin.zscore(keysOf(ns).expiryIndex, 'k')).toBeNull();
		});

		it('keeps no TTL with retention 0 and gives a released key history the record retention', async () => {
			const d = await claimOne('forever', T0, { retentionMs: 0 });
			await transitionOne(request('markProcessed', 'forever', { claimToken: d.claimToken }), T0 + 1);
			expect(await admin.pttl(keysOf(ns).record('forever'))).toBe(-1);
			const e = await claimOne('gone', T0, { retentionMs: 5000 });
			await transitionOne(request('release', 'gone', { claimToken: e.claimToken }), T0 + 1);
			expect(await admin.exists(keysOf(ns).record('gone'))).toBe(0);
			const ttl = await admin.pttl(keysOf(ns).history('gone'));
			expect(ttl).toBeGreaterThan(DAY);
			expect(ttl).toBeLessThanOrEqual(DAY + 5000);
		});
	});

	describe('list', () => {
		it('skips records past retention and drops index entries of records Redis has expired', async () => {
			const d = await claimOne('old', T0, { retentionMs: 1000 });
			await transitionOne(request('markProcessed', 'old', { claimToken: d.claimToken }), T0);
			await claimOne('vanished', T0);
			await claimOne('kept', T0);
			await admin.del(keysOf(ns).record('vanished')); // what a real TTL does
			const page = await store.list(ns, { limit: 10 }, T0 + 1000);
			expect(page.records.map((r) => r.key)).toEqual(['kept']);
			expect(await admin.zscore(keysOf(ns).keysIndex, 'vanished')).toBeNull();
			expect(await admin.zscore(keysOf(ns).leaseIndex, 'vanished')).toBeNull();
			expect(await admin.zscore(keysOf(ns).stateIndex('processing'), 'vanished')).toBeNull();
			expect(await admin.zscore(keysOf(ns).keysIndex, 'old')).not.toBeNull();
		});

		it('returns a short page with a cursor when it had to skip many entries', async () => {
			const keys = Array.from({ length: 1200 }, (_, i) => `e-${String(i).padStart(4, '0')}`);
			const decisions = [];
			for (let i = 0; i < keys.length; i += 600) {
				const chunk = keys.slice(i, i + 600).map((key) => ({ key, fingerprint: null }));
				decisions.push(...(await store.claim(ns, chunk, { ...basePolicy, retentionMs: 1 }, actor, T0)));
			}
			// All 1200 settle with a 1 ms retention: past retention at T0 + 10, still in the index.
			await store.transition(ns, decisions.map((d) => request('markProcessed', d.key, { claimToken: d.claimToken })), actor, T0 + 2);
			await claimOne('z-live', T0 + 5);
			const first = await store.list(ns, { limit: 10 }, T0 + 10);
			expect(first.records).toEqual([]);
			expect(first.nextCursor).not.toBeNull();
			const second = await store.list(ns, { limit: 10, cursor: first.nextCursor }, T0 + 10);
			expect(second.records.map((r) => r.key)).toEqual(['z-live']);
			expect(second.nextCursor).toBeNull();
		});
	});

	describe('purge', () => {
		it('leaves the index entries of what it kept, and none of what it deleted', async () => {
			for (const key of ['p1', 'p2']) {
				const d = await claimOne(key, T0, { retentionMs: 1000 });
				await transitionOne(request('markProcessed', key, { claimToken: d.claimToken }), T0 + 2);
			}
			const f = await claimOne('forever', T0, { retentionMs: 0 });
			await transitionOne(request('markProcessed', 'forever', { claimToken: f.claimToken }), T0 + 2);
			const later = await claimOne('later', T0, { retentionMs: DAY });
			await transitionOne(request('markFailed', 'later', { claimToken: later.claimToken }), T0 + 2);
			await claimOne('running', T0);
			expect(await store.purge(ns, T0 + 5000)).toEqual({ records: 2, history: 4 });
			expect(await admin.zrange(keysOf(ns).expiryIndex, 0, -1)).toEqual(['later']);
			expect(await admin.zrange(keysOf(ns).keysIndex, 0, -1)).toEqual(['forever', 'later', 'running']);
			expect(await admin.zcard(keysOf(ns).stateIndex('processed'))).toBe(1);
		});

		it('leaves no record or history key behind after more than one batch', async () => {
			const keys = Array.from({ length: 1100 }, (_, i) => `m-${i}`);
			const decisions = [
				...(await store.claim(ns, keys.slice(0, 1000).map((key) => ({ key, fingerprint: null })), { ...basePolicy, retentionMs: 10 }, actor, T0)),
				...(await store.claim(ns, keys.slice(1000).map((key) => ({ key, fingerprint: null })), { ...basePolicy, retentionMs: 10 }, actor, T0)),
			];
			await store.transition(ns, decisions.map((d) => request('markFailed', d.key, { claimToken: d.claimToken })), actor, T0 + 1);
			expect(await store.purge(ns, T0 + 100)).toEqual({ records: 1100, history: 2200 });
			expect(await keysUnder(admin, `${PREFIX}{${namespaceTag(ns)}}:r:*`)).toEqual([]);
		});
	});

	describe('key layout', () => {
		it('keeps every key of a namespace in one cluster slot, for any namespace', async () => {
			for (const namespace of HOSTILE_NAMESPACES) {
				const [d] = await store.claim(namespace, [{ key: 'k}{', fingerprint: null }, { key: 'other', fingerprint: null }], { ...basePolicy, retentionMs: DAY }, actor, T0);
				await store.transition(namespace, [request('markProcessed', 'k}{', { claimToken: d.claimToken })], actor, T0 + 1);
				const [exception] = await store.recordExceptions(namespace, [exceptionRequest('k}{'), exceptionRequest('other')], actor, T0 + 2);
				await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 3);
				const prefix = `${PREFIX}{${namespaceTag(namespace)}}`.replace(/[*?[\]\\]/g, '\\$&');
				const created = await keysUnder(admin, `${prefix}*`);
				// records, histories, indexes, stats, exceptions (x:, xo:, xid: per exception)
				expect(created.length).toBeGreaterThanOrEqual(15);
				expect(new Set(created.map((key) => clusterKeySlot(key))).size).toBe(1);
				expect(clusterKeySlot(created[0])).toBe(clusterKeySlot(`{${namespaceTag(namespace)}}`));
			}
		});

		it('refuses a key with a NUL character or over 1,024 bytes, as every store does (Redis could hold them; Postgres cannot)', async () => {
			await expect(store.claim(ns, ['ab', 'a\u0000b'].map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0)).rejects.toThrow(InvalidInputError);
			await expect(claimOne('k'.repeat(1025), T0)).rejects.toThrow(/1025 bytes long; a store takes at most 1024/);
			expect(await store.get(ns, 'ab')).toBeNull();
		});

		it('handles the longest key (1,024 bytes) and a result with every JSON escape', async () => {
			const key = 'k'.repeat(1024);
			const result = JSON.stringify({ s: '"\\/\b\f\n\r\t\u0000\u2028 ünïcødé 🧾', n: [1.5, -0, 1e21], nested: { a: null } });
			const d = await claimOne(key, T0);
			expect(d.outcome).toBe('new');
			await transitionOne(request('markProcessed', key, { claimToken: d.claimToken, resultJson: result }), T0 + 1);
			expect((await claimOne(key, T0 + 2)).result).toEqual(JSON.parse(result));
			expect((await store.get(ns, key))?.key).toHaveLength(1024);
			await admin.del(keysOf(ns).record(key), keysOf(ns).history(key));
		});

		it('refuses text that UTF-8 cannot carry, since two such keys would become one', async () => {
			await expect(claimOne('bad\ud800', T0)).rejects.toThrow(InvalidInputError);
			await expect(store.get('ns\udc00', 'k')).rejects.toThrow(InvalidInputError);
		});
	});


	describe('atomicity and connections', () => {
		it('writes nothing when a script fails part way (a foreign key in the way)', async () => {
			await admin.set(keysOf(ns).record('blocked'), 'not a hash');
			await expect(
				store.claim(ns, [{ key: 'first', fingerprint: null }, { key: 'blocked', fingerprint: null }], basePolicy, actor, T0),
			).rejects.toThrow(IdempotencyError);
			expect(await store.get(ns, 'first')).toBeNull();
			expect(await store.history(ns, 'first')).toEqual([]);
		});

		it('runs the scripts again after Redis lost them (EVALSHA falls back to EVAL)', async () => {
			await claimOne('before', T0);
			await admin.script('FLUSH');
			expect((await claimOne('after', T0)).outcome).toBe('new');
		});

		it('works on a client the caller owns, and leaves it open on close', async () => {
			const client = new Redis(REDIS_URL, TEST_CLIENT_OPTIONS);
			const shared = new RedisStore(client, { keyPrefix: PREFIX, allowNoPersistence: true });
			const [d] = await shared.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0);
			expect(d.outcome).toBe('new');
			expect((await store.get(ns, 'k'))?.claimToken).toBe(d.claimToken);
			await shared.close();
			expect(await client.ping()).toBe('PONG');
			await client.quit();
		});

		it('uses the Redis clock when no time is given', async () => {
			const before = Date.now();
			const [d] = await store.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor);
			expect(d.firstSeenAt).toBeGreaterThanOrEqual(before - 1000);
			expect(d.firstSeenAt).toBeLessThanOrEqual(Date.now() + 1000);
			expect(d.leaseUntil).toBe(d.firstSeenAt + MINUTE);
		});

		it('reports health, and says that a Redis keeping nothing on disk is accepted (allowNoPersistence)', async () => {
			const health = await store.health();
			expect(health.ok).toBe(true);
			expect(health.message).toContain(`${config.host}:${config.port}`);
			const [, appendonly] = (await admin.config('GET', 'appendonly')) as string[];
			const [, save] = (await admin.config('GET', 'save')) as string[];
			// test/store/redis/redisDurability.test.ts covers each persistence setting on private servers.
			if (appendonly === 'no' && save === '') expect(health.message).toMatch(/Accepted in the credential: .*keeps nothing on disk/);
		});

		it('says the connection was refused when Redis is down, within 5 s', async () => {
			const down = new RedisStore({ ...config, host: '127.0.0.1', port: 1 });
			const started = Date.now();
			const error = await down.claim(ns, [{ key: 'k', fingerprint: null }], basePolicy, actor, T0).catch((e) => e);
			expect(error).toBeInstanceOf(StoreUnavailableError);
			expect(error.message).toMatch(/127\.0\.0\.1:1.*ECONNREFUSED|ECONNREFUSED.*127\.0\.0\.1:1/);
			expect(Date.now() - started).toBeLessThan(5000);
			await down.close();
		});

		it('refuses a key prefix that would break the hash tags before calling Redis', () => {
			expect(() => new RedisStore({ ...config, keyPrefix: 'a{b}' })).toThrow(InvalidInputError);
		});
	});

	describe('races', () => {
		it('the race test catches a read-then-write claim on Redis (so it can fail)', async () => {
			const clients = Array.from({ length: 50 }, () => new Redis(REDIS_URL, TEST_CLIENT_OPTIONS));
			const naive = clients.map((client) => async (key: string) => {
				const name = `${PREFIX}naive:${key}`;
				if (await client.exists(name)) return 'ambiguous';
				await client.set(name, 'processing');
				return 'new';
			});
			const newPerRound = await raceRounds(naive, 20);
			await Promise.all(clients.map((c) => c.quit()));
			expect(Math.max(...newPerRound)).toBeGreaterThan(1);
		});
	});
});
