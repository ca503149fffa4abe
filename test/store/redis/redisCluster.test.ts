// The store conformance suites (conformance/) on a Redis Cluster — the one REDIS_CLUSTER_NODES
// names (host:port,host:port), else three local masters this file starts once and stops
// (test/helpers/redisCluster.ts) — where Redis refuses any script whose keys are not all in one
// slot (CROSSSLOT); plus namespaces spread over the masters and every script on hostile names.

import { randomBytes } from 'crypto';
import { Cluster, Redis } from 'ioredis';
import { spreadLayout } from '../../../nodes/shared/store/redis/buckets';
import { RedisStore, type RedisStoreConfig } from '../../../nodes/shared/store/redis/RedisStore';
import type { Actor, ClaimPolicy } from '../../../nodes/shared/store/types';
import { startLocalCluster, type LocalCluster } from '../../helpers/redisCluster';
import { describeStoreConformance } from '../conformance';
import { HOSTILE_NAMESPACES } from '../conformance/keys';

// Redis Cluster's own slot function (a dependency of ioredis, which routes cluster calls with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterKeySlot = require('cluster-key-slot') as (key: string) => number;

// Test clients end promptly, so that Jest can exit right after the run.
const TEST_CLIENT_OPTIONS = { disconnectTimeout: 100 };
const clusterPrefix = `test:${randomBytes(4).toString('hex')}:`;
const T0 = 1_700_000_000_000;
const actor: Actor = { workflowId: 'w', executionId: 'e', node: 'n' };
let local: LocalCluster | null = null;
let clusterConfig: RedisStoreConfig;
const seeds = () =>
	clusterConfig.clusterNodes!.split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) }));
const openClusterStore = () => new RedisStore(clusterConfig);

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

// One cluster for the whole file: every suite's fixture opens stores on it.
beforeAll(async () => {
	const nodes = process.env.REDIS_CLUSTER_NODES || (local = await startLocalCluster()).nodes;
	const [first] = nodes.split(',');
	clusterConfig = {
		host: first.split(':')[0],
		port: Number(first.split(':')[1]),
		database: 0,
		tls: false,
		keyPrefix: clusterPrefix,
		mode: 'cluster',
		clusterNodes: nodes,
		// The test cluster keeps nothing on disk: its claims would be refused without this.
		allowNoPersistence: true,
	};
});

afterAll(async () => {
	if (local) {
		await local.stop(); // its data goes with it
		return;
	}
	const admin = new Cluster(seeds(), { redisOptions: TEST_CLIENT_OPTIONS });
	await admin.ping(); // connects, so that the masters are known
	for (const node of admin.nodes('master')) {
		const keys = await keysUnder(node as unknown as Redis, `${clusterPrefix}*`);
		for (const key of keys) await node.del(key);
	}
	await admin.quit();
});

describeStoreConformance('Redis Cluster', async () => {
	const store = openClusterStore();
	return { store, openPeer: async () => openClusterStore(), cleanup: () => store.close() };
});

describe('Redis Cluster specifics', () => {
	it('lists, counts and purges namespaces spread over the cluster', async () => {
		const store = openClusterStore();
		const policy: ClaimPolicy = { leaseMs: 1000, retentionMs: 1000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		try {
			expect((await store.health()).ok).toBe(true);
			for (let i = 0; i < 20; i++) {
				const ns = `spread-${i}}`;
				const decisions = await store.claim(ns, ['a', 'b', 'c'].map((key) => ({ key, fingerprint: null })), policy, actor, T0);
				await store.transition(ns, decisions.map((d) => ({ kind: 'markProcessed' as const, key: d.key, claimToken: d.claimToken, verifyClaim: true, force: false, retentionMs: 0 })), actor, T0 + 1);
				expect((await store.list(ns, { limit: 2, state: 'processed' }, T0 + 2)).records.map((r) => r.key)).toEqual(['a', 'b']);
				expect((await store.stats(ns, 3_600_000, T0 + 2)).new).toBe(3);
				expect(await store.purge(ns, T0 + 5000)).toEqual({ records: 3, history: 6 });
			}
		} finally {
			await store.close();
		}
	});

	it('refuses a script whose keys span two slots (so the next test can fail)', async () => {
		const admin = new Cluster(seeds(), { redisOptions: TEST_CLIENT_OPTIONS });
		try {
			expect(clusterKeySlot(`${clusterPrefix}{a}`)).not.toBe(clusterKeySlot(`${clusterPrefix}{b}`));
			await expect(admin.eval('return 1', 2, `${clusterPrefix}{a}`, `${clusterPrefix}{b}`)).rejects.toThrow(/CROSSSLOT/);
		} finally {
			await admin.quit();
		}
	});

	it('runs every script on namespaces and keys of any shape, each within one slot', async () => {
		const store = openClusterStore();
		const admin = new Cluster(seeds(), { redisOptions: TEST_CLIENT_OPTIONS });
		const policy: ClaimPolicy = { leaseMs: 1000, retentionMs: 1000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		const key = 'k}{:x:h';
		try {
			for (const namespace of HOSTILE_NAMESPACES) {
				const label = { namespace };
				const keys = spreadLayout(clusterPrefix, namespace).keysOf('gone'); // a new namespace is spread
				const [d] = await store.claim(namespace, [key, 'gone', 'kept'].map((k) => ({ key: k, fingerprint: null })), policy, actor, T0); // claim.lua
				await store.transition(namespace, [{ kind: 'markProcessed', key, claimToken: d.claimToken, verifyClaim: true, force: false, retentionMs: 0 }], actor, T0 + 1); // transition.lua
				await admin.del(keys.record('gone'));
				expect({ ...label, keys: (await store.list(namespace, { limit: 10 }, T0 + 2)).records.map((r) => r.key) }).toEqual({ ...label, keys: ['kept', key] }); // forget.lua (byte order)
				const [a, b] = await store.recordExceptions(namespace, [{ key, reason: 'write_timeout', owner: 'ops', severity: 'high', route: 'R' }, { key: 'kept', reason: 'in_progress', owner: 'ops', severity: 'low', route: 'R' }], actor, T0 + 3); // record_exceptions.lua
				expect({ ...label, namespace: (await store.getException(a.id))?.namespace }).toEqual({ ...label, namespace });
				expect((await store.listOpenExceptions({ owner: 'ops', limit: 1000 }, T0 + 4)).map((e) => e.id)).toEqual(expect.arrayContaining([a.id, b.id]));
				expect((await store.stats(namespace, 3_600_000, T0 + 4)).openExceptions).toBe(2); // stats.lua
				expect((await store.resolveException({ id: a.id, namespace: null, key: null, resolution: 'replay', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 5)).exceptions).toHaveLength(1); // resolve_exception.lua
				expect((await store.resolveException({ id: null, namespace, key: 'kept', resolution: 'markProcessed', resolvedBy: null, note: null, resultJson: '{"ok":true}' }, actor, T0 + 6)).record?.state).toBe('processed');
				expect(await store.purge(namespace, T0 + 6 + 31 * 86_400_000)).toEqual({ records: 1, history: 2 }); // purge.lua
			}
		} finally {
			await admin.quit();
			await store.close();
		}
	});
});
