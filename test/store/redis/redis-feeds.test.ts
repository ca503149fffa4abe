// What only the Redis adapter needs for the trigger's feeds: the namespace registry (and the
// namespaces written before it, found by a SCAN), hostile namespaces in "every namespace", and
// the feed index of exceptions shrinking as exceptions are resolved.

import Redis from 'ioredis';
import { readIndex } from '../../../nodes/shared/store/redis/feeds';
import { namespacesEverywhere, NamespaceKeys } from '../../../nodes/shared/store/redis/keys';
import { RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import type { ClaimPolicy } from '../../../nodes/shared/store/types';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../helpers/redis';

const prefix = uniquePrefix('redis_feeds');
const url = new URL(REDIS_URL);
const open = () => new RedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });
const actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };
const policy: ClaimPolicy = { leaseMs: 1_000, retentionMs: 0, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
const T = 1_800_000_000_000;
const window = { from: { at: T, after: null }, until: T + 1_000, limit: 100 };

let admin: Redis;
beforeAll(() => {
	admin = new Redis(REDIS_URL);
});
afterAll(async () => {
	await admin.quit();
	await deletePrefix(prefix);
});

describe('Redis trigger feeds', () => {
	it('reads an index page by page without skipping an entry when an earlier one leaves meanwhile', async () => {
		// 250 stuck entries, read in batches of 200; while the first batch is loaded, one of its
		// entries leaves the index (the claim settled). With offset paging, entry 200 shifted to
		// offset 199 and was never read.
		const index = `${prefix}paging-test:lease`; // outside the namespace layout the SCAN adopts
		const members = Array.from({ length: 250 }, (_, i) => `k${String(i).padStart(3, '0')}`);
		await admin.zadd(index, ...members.flatMap((m, i) => [String(T + 1 + i), m]));
		let batches = 0;
		const found = await readIndex<string>(admin, index, 'paging', { ...window, until: T + 1_000, namespace: 'paging' }, 1000, (m) => ['paging', m], async (entries) => {
			batches += 1;
			if (batches === 1) await admin.zrem(index, entries[0].member);
			for (const entry of entries) entry.event = entry.member;
		});
		expect(batches).toBeGreaterThan(1);
		expect(found.map((entry) => entry.event)).toEqual(members);
		// ties at one time, more than a batch of them: each read once, in member order
		const ties = `${prefix}ties-test:lease`;
		const tied = Array.from({ length: 450 }, (_, i) => `t${String(i).padStart(3, '0')}`);
		await admin.zadd(ties, ...tied.flatMap((m) => [String(T + 5), m]));
		const all = await readIndex<string>(admin, ties, 'ties', { ...window, namespace: 'ties' }, 1000, (m) => ['ties', m], async (entries) => {
			for (const entry of entries) entry.event = entry.member;
		});
		expect(all.map((entry) => entry.event)).toEqual(tied);
	});

	it('finds, in every namespace, the namespaces claimed in before the registry existed', async () => {
		const writer = open();
		await writer.claim('legacy-a', [{ key: 'k', fingerprint: null }], policy, actor, T);
		await writer.claim('legacy-b', [{ key: 'k', fingerprint: null }], policy, actor, T);
		await writer.close();
		// As data from an older version: no registry.
		await admin.del(namespacesEverywhere(prefix));
		const reader = open();
		try {
			const found = (await reader.stuckClaims({ ...window, namespace: null })).events.map((r) => r.namespace);
			expect(found.sort()).toEqual(['legacy-a', 'legacy-b']);
			expect((await admin.smembers(namespacesEverywhere(prefix))).sort()).toEqual(['legacy-a', 'legacy-b']);
		} finally {
			await reader.close();
		}
	});

	it('reads hostile namespaces in every namespace as their own', async () => {
		const hostile = ['a}b', '}', '{x}', '~YX0', 'ñ 日本 🧾', 'a:r:b', '*', '[.*+?^$()]'];
		const store = open();
		try {
			const at = T + 10_000;
			for (const ns of hostile) {
				await store.claim(ns, [{ key: `key of ${ns}`, fingerprint: null }], policy, actor, at);
				await store.recordExceptions(ns, [{ key: `key of ${ns}`, reason: 'lease_expired', owner: 'ops', severity: 'high', route: 'Ops' }], actor, at);
			}
			const query = { namespace: null, from: { at, after: null }, until: at + 1_000, limit: 100 };
			const stuck = (await store.stuckClaims(query)).events;
			expect(stuck.map((r) => [r.namespace, r.key]).sort()).toEqual(hostile.map((ns) => [ns, `key of ${ns}`]).sort());
			const seen = (await store.exceptionsSeen({ ...query, from: { at: at - 1, after: null } })).events;
			expect(seen.map((e) => [e.namespace, e.key]).sort()).toEqual(hostile.map((ns) => [ns, `key of ${ns}`]).sort());
			// After the one SCAN, a namespace is known through the registry its first claim writes.
			await store.claim('after-the-scan', [{ key: 'k', fingerprint: null }], policy, actor, at);
			expect((await store.stuckClaims(query)).events.map((r) => r.namespace)).toContain('after-the-scan');
		} finally {
			await store.close();
		}
	});

	it('resolving an incident (group by key) removes its pointer from the key’s open exceptions', async () => {
		const store = open();
		try {
			const ns = 'incident-pointer';
			const [incident] = await store.recordExceptions(ns, [{ key: 'inv-1', reason: 'write_timeout', owner: 'ops', severity: 'high', route: 'Finance', groupBy: 'key' }], actor, T);
			const pointers = new NamespaceKeys(prefix, ns).openExceptions('inv-1');
			expect(await admin.hget(pointers, '')).not.toBeNull();
			await store.resolveException({ id: incident.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T + 1);
			expect(await admin.hgetall(pointers)).toEqual({});
		} finally {
			await store.close();
		}
	});

	it('drops resolved exceptions from the feed index when it meets them', async () => {
		const store = open();
		try {
			const ns = 'resolving';
			const [exception] = await store.recordExceptions(ns, [{ key: 'k', reason: 'in_progress', owner: 'ops', severity: 'low', route: 'Ops' }], actor, T);
			const index = new NamespaceKeys(prefix, ns).seenExceptionsIndex;
			expect(await admin.zcard(index)).toBe(1);
			await store.resolveException({ id: exception.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T + 1);
			expect((await store.exceptionsSeen({ namespace: ns, from: { at: T - 1, after: null }, until: T + 10, limit: 10 })).events).toEqual([]);
			expect(await admin.zcard(index)).toBe(0);
		} finally {
			await store.close();
		}
	});
});
