// Does a write the Redis store acknowledged survive a restart, a crash and a failover? On private
// redis-servers this file starts (test/helpers/redisServer.ts):
// - a Redis that keeps nothing on disk: claims are refused (nothing written) unless the
//   credential's allowNoPersistence accepts it; the credential test is red with the setting and
//   how to accept it, green once accepted;
// - a Redis with RDB snapshots only, killed with SIGKILL: the warning said so beforehand, and the
//   loss it named happens (every processed key after the last snapshot is New again);
// - AOF with appendfsync always, killed: nothing acknowledged is lost, the test is green;
// - a primary with a replica whose replication stream is held back (a TCP proxy between them),
//   then the primary killed and the replica promoted (REPLICAOF NO ONE): with the writes waiting
//   for the replica (the default), every acknowledged processed key is still a Duplicate — the
//   claims the replica did not confirm were Ambiguous (not_replicated), a settlement it did not
//   confirm failed; without the wait the acknowledged keys come back New. Stats and the report
//   count the unconfirmed claims as Ambiguous not_replicated, as the Guard routed them (once,
//   though the correction's reply is lost and re-sent).

import { randomUUID } from 'crypto';
import { claimAll } from '../../../nodes/shared/claims';
import { credentialTest } from '../../../nodes/shared/n8n/credentialTests';
import { hintDurability } from '../../../nodes/shared/n8n/hints';
import { StoreMisconfiguredError, StoreUnavailableError } from '../../../nodes/shared/store/errors';
import { createRedisStore, type RedisStore, type RedisStoreConfig } from '../../../nodes/shared/store/redis/RedisStore';
import type { ClaimDecision, ClaimPolicy } from '../../../nodes/shared/store/types';
import { actor, basePolicy, transitionRequest } from '../conformance/fixture';
import { startLocalCluster, type LocalCluster } from '../../helpers/redisCluster';
import { startRedis, type PrivateRedis } from '../../helpers/redisServer';
import { Redis } from 'ioredis';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcpProxy';

jest.setTimeout(60_000);

// Processed keys are kept for ever: a key that comes back New was lost, not expired.
const policy: ClaimPolicy = { ...basePolicy, retentionMs: 0 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Extra = Partial<RedisStoreConfig>;
const storeOn = (server: { host: string; port: number }, extra: Extra = {}): RedisStore =>
	createRedisStore({ host: server.host, port: server.port, database: 0, tls: false, keyPrefix: 'idem:', mode: 'standalone', ...extra });
const credentialTestOn = (server: { host: string; port: number }, extra: Record<string, unknown> = {}) =>
	credentialTest.idempotencyRedisApiTest.call({} as never, {
		id: 'c',
		name: 'r',
		type: 'idempotencyRedisApi',
		data: { mode: 'standalone', host: server.host, port: server.port, database: 0, tls: false, keyPrefix: 'idem:', ...extra },
	} as never);

const keysOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** Claims the keys and marks each New one processed; returns the decisions. */
async function claimAndProcess(store: RedisStore, ns: string, keys: string[]): Promise<ClaimDecision[]> {
	const decisions = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), policy, actor);
	const taken = decisions.filter((d) => d.outcome === 'new');
	if (taken.length > 0) {
		await store.transition(
			ns,
			taken.map((d) => transitionRequest('markProcessed', d.key, d.claimToken, { retentionMs: 0 })),
			actor,
		);
	}
	return decisions;
}

async function outcomes(store: RedisStore, ns: string, keys: string[]): Promise<Record<string, number>> {
	const decisions = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), policy, actor);
	const counts: Record<string, number> = {};
	for (const d of decisions) counts[d.outcome] = (counts[d.outcome] ?? 0) + 1;
	return counts;
}

/** A private redis-server with these arguments for the describe block it is called in. */
function privateServer(args: string[] = []): { current: PrivateRedis } {
	const holder = {} as { current: PrivateRedis };
	beforeAll(async () => {
		holder.current = await startRedis(args);
	});
	afterAll(() => holder.current.stop());
	return holder;
}

/** Kills the server with SIGKILL, starts it again on its folder, and claims each group of keys there. */
async function afterKill(srv: { current: PrivateRedis }, ns: string, groups: string[][]): Promise<Array<Record<string, number>>> {
	await srv.current.kill();
	srv.current = await srv.current.restart();
	const again = storeOn(srv.current, { allowNoPersistence: true });
	try {
		const found = [];
		for (const keys of groups) found.push(await outcomes(again, ns, keys));
		return found;
	} finally {
		await again.close();
	}
}

async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await sleep(50);
	}
}

describe('a Redis that keeps nothing on disk (appendonly no, no save points)', () => {
	const srv = privateServer();

	it('refuses claims, writing nothing, with the setting and how to accept it', async () => {
		const store = storeOn(srv.current);
		try {
			const error = await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor).catch((e: Error) => e);
			expect(error).toBeInstanceOf(StoreMisconfiguredError);
			expect((error as Error).message).toMatch(/has appendonly no, save ""\. It keeps nothing on disk: any restart of Redis .* forgets every claim/);
			expect((error as Error).message).toMatch(/Claims are refused\.$/);
			expect((error as StoreMisconfiguredError).hint).toMatch(/appendonly yes.*turn on "Allow No Persistence"/);
			expect(await srv.current.admin.dbsize()).toBe(0);
			const report = await store.durability();
			expect(report.safe).toBe(false);
			expect(report.findings).toEqual([expect.objectContaining({ level: 'refuse', setting: 'appendonly no, save ""', accepted: false })]);
		} finally {
			await store.close();
		}
	});

	it('the credential test is red and says what is lost and how to accept it', async () => {
		const result = await credentialTestOn(srv.current);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/keeps nothing on disk/);
		expect(result.message).toMatch(/"Allow No Persistence"/);
	});

	it('with allowNoPersistence: claims go ahead, the report says accepted, the credential test is green', async () => {
		const store = storeOn(srv.current, { allowNoPersistence: true });
		try {
			const [decision] = await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor);
			expect(decision.outcome).toBe('new');
			const report = await store.durability();
			expect(report).toMatchObject({ safe: true, findings: [{ level: 'refuse', accepted: true }] });
		} finally {
			await store.close();
		}
		const result = await credentialTestOn(srv.current, { allowNoPersistence: true });
		expect(result).toEqual({ status: 'OK', message: expect.stringMatching(/Accepted in the credential: .*keeps nothing on disk/) });
	});

	it('requireDurability refuses it even when allowNoPersistence is on', async () => {
		const store = storeOn(srv.current, { allowNoPersistence: true, requireDurability: true });
		try {
			const error = await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor).catch((e: Error) => e);
			expect(error).toBeInstanceOf(StoreMisconfiguredError);
			expect((error as Error).message).toMatch(/"Require Durability" is on/);
		} finally {
			await store.close();
		}
	});

	it('turning persistence on takes effect on the next reading (a reconnect)', async () => {
		const store = storeOn(srv.current);
		try {
			await expect(store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor)).rejects.toThrow(StoreMisconfiguredError);
			await srv.current.admin.config('SET', 'appendonly', 'yes');
			await srv.current.admin.config('SET', 'appendfsync', 'always');
			// A reconnect (as after a failover) reads the srv.current again.
			await srv.current.admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
			await until(async () => (await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor).catch(() => null)) !== null, 'claims to go ahead');
		} finally {
			await srv.current.admin.config('SET', 'appendonly', 'no');
			await store.close();
		}
	});
});

describe('a Redis with RDB snapshots only, killed with SIGKILL', () => {
	const srv = privateServer(['--save', '3600 1']);

	it('warned beforehand — credential test, report, execution hint — and then lost what came after the snapshot', async () => {
		const result = await credentialTestOn(srv.current);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Warning: .*appendonly no, save "3600 1" \(RDB snapshots only\)\. It keeps only snapshots: a crash or kill of Redis forgets every write since the last snapshot \(up to 3600 s/);
		expect(result.message).toMatch(/The credential itself works/);
		expect(await credentialTestOn(srv.current, { acceptCrashLoss: true })).toMatchObject({ status: 'OK' });

		const store = storeOn(srv.current);
		const ns = `ns-${randomUUID()}`;
		const before = keysOf('before', 300);
		const after = keysOf('after', 300);
		try {
			const report = await store.durability();
			expect(report.findings).toEqual([expect.objectContaining({ level: 'warn', accepted: false })]);
			const hints: unknown[] = [];
			await hintDurability({ addExecutionHints: (...h: unknown[]) => hints.push(...h) } as never, store);
			expect(hints).toEqual([expect.objectContaining({ type: 'warning', message: expect.stringMatching(/RDB snapshots only/) })]);

			// Claims go ahead: the loss needs a crash.
			expect((await claimAndProcess(store, ns, before)).every((d) => d.outcome === 'new')).toBe(true);
			await srv.current.admin.save();
			expect((await claimAndProcess(store, ns, after)).every((d) => d.outcome === 'new')).toBe(true);
		} finally {
			await store.close();
		}
		const [kept, lost] = await afterKill(srv, ns, [before, after]);
		// Measured: what the warning named.
		console.log(`RDB only, SIGKILL: ${kept.duplicate ?? 0} of 300 processed keys before the snapshot were duplicates; ${lost.new ?? 0} of 300 after it were new again`);
		expect(kept).toEqual({ duplicate: 300 });
		expect(lost).toEqual({ new: 300 });
	});

	it('requireDurability refuses claims on it', async () => {
		const store = storeOn(srv.current, { requireDurability: true });
		try {
			const error = await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor).catch((e: Error) => e);
			expect(error).toBeInstanceOf(StoreMisconfiguredError);
			expect((error as Error).message).toMatch(/RDB snapshots only.*"Require Durability" is on/);
		} finally {
			await store.close();
		}
	});
});

describe('a Redis with AOF, appendfsync always, killed with SIGKILL', () => {
	const srv = privateServer(['--appendonly', 'yes', '--appendfsync', 'always']);

	it('has nothing to warn about, tests green, and keeps every acknowledged write', async () => {
		const result = await credentialTestOn(srv.current, { requireDurability: true });
		expect(result).toEqual({ status: 'OK', message: expect.stringMatching(/appendfsync always: a crash loses no acknowledged write/) });
		const store = storeOn(srv.current, { requireDurability: true });
		const ns = `ns-${randomUUID()}`;
		const keys = keysOf('k', 300);
		try {
			expect(await store.durability()).toMatchObject({ safe: true, findings: [] });
			expect((await claimAndProcess(store, ns, keys)).every((d) => d.outcome === 'new')).toBe(true);
		} finally {
			await store.close();
		}
		expect(await afterKill(srv, ns, [keys])).toEqual([{ duplicate: 300 }]);
	});

	it('appendfsync everysec is a warning: up to 1 s on a machine crash', async () => {
		await srv.current.admin.config('SET', 'appendfsync', 'everysec');
		const store = storeOn(srv.current);
		try {
			expect((await store.durability()).findings).toEqual([
				expect.objectContaining({ level: 'warn', setting: 'appendonly yes, appendfsync everysec', risk: expect.stringMatching(/loses up to 1 s/) }),
			]);
		} finally {
			await srv.current.admin.config('SET', 'appendfsync', 'always');
			await store.close();
		}
	});
});

describe('a managed Redis that refuses CONFIG', () => {
	const srv = privateServer(['--rename-command', 'CONFIG', '""']);

	it('says what could not be read, as unknown; claims go ahead', async () => {
		const store = storeOn(srv.current, { allowEviction: true });
		try {
			const report = await store.durability();
			expect(report.findings).toEqual([
				expect.objectContaining({ level: 'unknown', setting: 'appendonly, save (could not be read)', risk: expect.stringMatching(/CONFIG GET appendonly was refused/) }),
			]);
			expect((await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor))[0].outcome).toBe('new');
		} finally {
			await store.close();
		}
	});
});

describe('a primary with a replica, failed over', () => {
	let primary: PrivateRedis;
	let replica: PrivateRedis;
	let proxy: TcpProxy;

	beforeEach(async () => {
		// No wait before the first full sync (Redis waits 5 s for more replicas by default).
		primary = await startRedis(['--repl-diskless-sync-delay', '0']);
		// The replica reaches its primary through a proxy that can hold the replication stream back.
		proxy = await startTcpProxy(primary.host, primary.port);
		replica = await startRedis(['--replicaof', proxy.host, String(proxy.port)]);
		await until(async () => /connected_slaves:1/.test(await primary.admin.info('replication')), 'the replica to connect');
		await until(async () => /master_link_status:up/.test(await replica.admin.info('replication')), 'the replica to sync');
	});
	afterEach(async () => {
		await replica.stop();
		await proxy.close();
		await primary.stop();
	});

	/** Kills the primary and promotes the replica, as a failover does. */
	async function failOver(): Promise<void> {
		await primary.kill();
		await replica.admin.replicaof('NO', 'ONE');
	}

	it('with the wait (the default): every acknowledged processed key is still a Duplicate after the failover', async () => {
		const store = storeOn(primary, { allowNoPersistence: true, replicaTimeoutMs: 300 });
		const ns = `ns-${randomUUID()}`;
		const early = keysOf('early', 200);
		const unsettled = keysOf('unsettled', 50);
		const late = keysOf('late', 100);
		const acknowledged: string[] = [];
		try {
			const report = await store.durability();
			expect(report).toMatchObject({ waitFor: 1, findings: [expect.objectContaining({ level: 'refuse', accepted: true })] });
			expect(report.notes.join(' ')).toMatch(/Every write waits \(WAIT\) for 1 replica/);

			// Replication works: claims and settlements are confirmed.
			for (const d of await claimAndProcess(store, ns, early)) if (d.outcome === 'new') acknowledged.push(d.key);
			expect(acknowledged).toHaveLength(200);
			const held = await store.claim(ns, unsettled.map((key) => ({ key, fingerprint: null })), policy, actor);
			expect(held.every((d) => d.outcome === 'new')).toBe(true);

			// The replica stops receiving: nothing written now is confirmed.
			proxy.hold();
			const late_ = await store.claim(ns, late.map((key) => ({ key, fingerprint: null })), policy, actor);
			expect(late_.map((d) => [d.outcome, d.reason, d.claimToken])).toEqual(late.map(() => ['ambiguous', 'not_replicated', null]));
			const settle = await store
				.transition(ns, held.map((d) => transitionRequest('markProcessed', d.key, d.claimToken, { retentionMs: 0 })), actor)
				.catch((e: Error) => e);
			expect(settle).toBeInstanceOf(StoreUnavailableError);
			expect((settle as StoreUnavailableError).kind).toBe('not_replicated');
			expect((settle as Error).message).toMatch(/applied the transitions, but only 0 of 1 replica\(s\) confirmed it within 300 ms, twice: a failover now could lose it/);
		} finally {
			await store.close();
		}

		await failOver();
		const promoted = storeOn(replica, { allowNoPersistence: true });
		try {
			// Every key whose claim was New and whose Mark Processed succeeded is a Duplicate.
			expect(await outcomes(promoted, ns, acknowledged)).toEqual({ duplicate: 200 });
			// The claims the replica never confirmed were never New: they are New here for the first time.
			expect(await outcomes(promoted, ns, late)).toEqual({ new: 100 });
		} finally {
			await promoted.close();
		}
	});

	it('a claim the replica did not confirm is counted Ambiguous not_replicated in stats and the report, not New', async () => {
		const store = storeOn(primary, { allowNoPersistence: true, replicaTimeoutMs: 300 });
		const ns = `ns-${randomUUID()}`;
		const confirmed = keysOf('confirmed', 5);
		const held = keysOf('held', 20);
		try {
			expect((await outcomes(store, ns, confirmed))).toEqual({ new: 5 });
			proxy.hold();
			// Two keys already claimed ride along: Ambiguous in_progress, counted as such, untouched.
			const decisions = await store.claim(ns, [...held, ...confirmed.slice(0, 2)].map((key) => ({ key, fingerprint: null })), policy, actor);
			expect(decisions.map((d) => d.reason)).toEqual([...held.map(() => 'not_replicated'), 'in_progress', 'in_progress']);

			// What the Guard routed is what the Ledger counts.
			const stats = await store.stats(ns, 3_600_000);
			console.log(`Unconfirmed claims in stats: new ${stats.new} (5 confirmed), ambiguous ${JSON.stringify(stats.ambiguousByReason)}`);
			expect(stats).toMatchObject({ new: 5, ambiguous: 22, ambiguousByReason: { not_replicated: 20, in_progress: 2 } });
			const report = await store.report({ namespace: ns, sinceMs: 3_600_000, bucket: 'day' });
			expect(report.total).toMatchObject({ deliveries: 27, new: 5, ambiguous: 22 });
		} finally {
			proxy.release();
			await store.close();
		}
	});

	it("the count's correction is made once, though its reply is lost and the call re-sent", async () => {
		// The store reaches the primary through a proxy that drops exactly the correction's reply.
		const front = await startTcpProxy(primary.host, primary.port);
		const store = storeOn(front, { allowNoPersistence: true, replicaTimeoutMs: 300 });
		const ns = `ns-${randomUUID()}`;
		const held = keysOf('held', 10);
		try {
			proxy.hold();
			// ioredis sends a script's text (EVAL) the first time on a connection: this line is only in
			// lua/not_replicated.lua, so the reply dropped is that script's.
			void front.dropNextReply(`':new', -moved`);
			const decisions = await store.claim(ns, held.map((key) => ({ key, fingerprint: null })), policy, actor);
			expect(decisions.every((d) => d.reason === 'not_replicated')).toBe(true);
			const stats = await store.stats(ns, 3_600_000);
			expect(stats).toMatchObject({ new: 0, ambiguous: 10, ambiguousByReason: { not_replicated: 10 } });
			expect(front.drops).toBe(1);
		} finally {
			proxy.release();
			await store.close();
			await front.close();
		}
	});

	it('a claim the replica did not confirm is answered though the connection its count correction runs on stalls', async () => {
		// A failover under way: the main connection answers nothing until the command timeout.
		const front = await startTcpProxy(primary.host, primary.port);
		const store = storeOn(front, { allowNoPersistence: true, replicaTimeoutMs: 300, commandTimeoutMs: 8_000 });
		const ns = `ns-${randomUUID()}`;
		try {
			await store.durability();
			proxy.hold();
			// ioredis sends a script's text (EVAL) the first time on a connection: this line is only in
			// lua/not_replicated.lua, so the connection stalled is the one the correction runs on.
			front.stallAfter(`':new', -moved`);
			const started = Date.now();
			const decisions = await store.claim(ns, keysOf('held', 10).map((key) => ({ key, fingerprint: null })), policy, actor);
			const ms = Date.now() - started;
			expect(decisions.every((d) => d.outcome === 'ambiguous' && d.reason === 'not_replicated')).toBe(true);
			// The WAIT (300 ms) and at most one more Replica Timeout for the correction, not the 8 s
			// command timeout.
			expect(ms).toBeLessThan(4_000);
		} finally {
			front.release();
			proxy.release();
			await store.close();
			await front.close();
		}
	});

	it('an input that fails after chunks the replica did not confirm undoes their claims too: their keys are not left in progress', async () => {
		const store = storeOn(primary, { allowNoPersistence: true, replicaTimeoutMs: 300 });
		const ns = `ns-${randomUUID()}`;
		// 2001 keys: three chunks. The third fails — its one key's record is planted as a string (a
		// key of the wrong type), which the claim script refuses before it writes anything.
		const keys = keysOf('held', 2001);
		const poison = keys[2000];
		try {
			expect(await outcomes(store, ns, [poison])).toEqual({ new: 1 });
			const [recordKey] = await primary.admin.keys(`idem:*${poison}*`).then((names) => names.filter((name) => !/:h:/.test(name)));
			expect(await primary.admin.type(recordKey)).toBe('hash');
			await primary.admin.del(recordKey);
			await primary.admin.set(recordKey, 'not a record');
			proxy.hold();
			const jobs = keys.map((key) => ({ namespace: ns, request: { key, fingerprint: null } }));
			await expect(claimAll(store, jobs, policy, actor, { waitMs: 0 })).rejects.toThrow(/WRONGTYPE|not a hash|wrong kind/i);
			// The first two chunks' claims (Ambiguous not_replicated, held on the primary) were undone.
			const left = await Promise.all(keys.slice(0, 2000).map((key) => store.get(ns, key)));
			expect(left.filter((record) => record !== null).map((record) => record?.state)).toEqual([]);
		} finally {
			proxy.release();
			await store.close();
		}
	});

	it('a write waiting for its replica stalls no other call of the store', async () => {
		const store = storeOn(primary, { allowNoPersistence: true, replicaTimeoutMs: 1_500 });
		const ns = `ns-${randomUUID()}`;
		try {
			await claimAndProcess(store, ns, ['warm']);
			proxy.hold();
			const started = Date.now();
			const waiting = store.claim(ns, [{ key: 'slow', fingerprint: null }], policy, actor).then(() => Date.now() - started);
			await sleep(50);
			const read = await store.get(ns, 'warm').then((record) => ({ record, ms: Date.now() - started }));
			const other = await store.clock().then(() => Date.now() - started);
			expect(read.record?.state).toBe('processed');
			expect(read.ms).toBeLessThan(1_000);
			expect(other).toBeLessThan(1_000);
			expect(await waiting).toBeGreaterThanOrEqual(1_400);
		} finally {
			proxy.release();
			await store.close();
		}
	});

	it('without the wait (Wait for Replicas: None) the same failover loses acknowledged processed keys — and the credential test warns', async () => {
		const result = await credentialTestOn(primary, { allowNoPersistence: true, waitForReplicas: 'none' });
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/Writes do not wait for the replicas: a failover to a replica that had not received the last writes loses them/);
		const store = storeOn(primary, { allowNoPersistence: true, waitForReplicas: 'none' });
		const ns = `ns-${randomUUID()}`;
		const late = keysOf('late', 100);
		try {
			proxy.hold();
			expect((await claimAndProcess(store, ns, late)).every((d) => d.outcome === 'new')).toBe(true);
		} finally {
			await store.close();
		}
		await failOver();
		const promoted = storeOn(replica, { allowNoPersistence: true });
		try {
			const again = await outcomes(promoted, ns, late);
			console.log(`Failover without WAIT: ${again.new ?? 0} of 100 acknowledged processed keys were new again`);
			expect(again).toEqual({ new: 100 });
		} finally {
			await promoted.close();
		}
	});

	it('a reconnect after the failover reads the new primary again: no replica there, so no wait', async () => {
		// The store reaches "the primary" through one address, as a DNS name or a VIP that a failover moves.
		const front = await startTcpProxy(primary.host, primary.port);
		const store = storeOn(front, { allowNoPersistence: true, replicaTimeoutMs: 2_000 });
		try {
			expect((await store.durability()).waitFor).toBe(1);
			await failOver();
			front.retarget(replica.host, replica.port);
			front.cutAll();
			const started = Date.now();
			const [decision] = await store.claim(`ns-${randomUUID()}`, [{ key: 'a', fingerprint: null }], policy, actor);
			// Read again on reconnect: not a WAIT for a replica the new primary does not have.
			expect([decision.outcome, decision.reason]).toEqual(['new', 'first_seen']);
			expect(Date.now() - started).toBeLessThan(2_000);
			expect((await store.durability()).waitFor).toBe(0);
		} finally {
			await store.close();
			await front.close();
		}
	});
});

describe('a Redis Cluster whose masters have a replica each', () => {
	let cluster: LocalCluster;
	const admins: Redis[] = [];
	const admin = (port: number) => {
		const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
		client.on('error', () => undefined);
		admins.push(client);
		return client;
	};
	beforeAll(async () => {
		cluster = await startLocalCluster({ replicasPerMaster: 1, extraArgs: ['--enable-debug-command', 'yes'] });
		for (const port of cluster.ports) {
			await until(async () => {
				const info = await admin(port).info('replication');
				return /role:slave/.test(info) ? /master_link_status:up/.test(info) : /connected_slaves:1/.test(info);
			}, `node ${port} to replicate`, 20_000);
		}
	}, 60_000);
	afterAll(async () => {
		admins.forEach((client) => client.disconnect());
		await cluster.stop();
	});

	/** A store on the cluster, waiting 500 ms for each master's replica. */
	const clusterStore = () =>
		createRedisStore({
			host: '127.0.0.1',
			port: cluster.ports[0],
			database: 0,
			tls: false,
			keyPrefix: 'idem:',
			mode: 'cluster',
			clusterNodes: cluster.nodes,
			allowNoPersistence: true,
			replicaTimeoutMs: 500,
		});

	it("waits on the node that owns the keys: only the keys of the master whose replica stalls are not_replicated", async () => {
		const store = clusterStore();
		const ns = `ns-${randomUUID()}`;
		try {
			expect((await store.durability()).waitFor).toBe(1);
			expect((await claimAndProcess(store, ns, keysOf('warm', 100))).every((d) => d.outcome === 'new')).toBe(true);
			// One master's replica stops answering for 3 s.
			const infos = await Promise.all(cluster.ports.map(async (port) => ({ port, info: await admin(port).info('replication') })));
			const stalled = infos.find((n) => /role:slave/.test(n.info))!;
			const masterPort = Number(/master_port:(\d+)/.exec(stalled.info)![1]);
			const sleeping = admin(stalled.port).call('DEBUG', 'SLEEP', '3').catch(() => undefined);
			await sleep(100);
			const keys = keysOf('k', 300);
			const decisions = await store.claim(ns, keys.map((key) => ({ key, fingerprint: null })), policy, actor);
			await sleeping;
			// Which keys that master holds: their records are there.
			const onMaster = new Set<string>();
			let cursor = '0';
			do {
				const [next, found] = await admin(masterPort).scan(cursor, 'MATCH', `idem:*:r:k-*`, 'COUNT', 1000);
				cursor = next;
				for (const name of found) onMaster.add(name.slice(name.indexOf(':r:') + 3));
			} while (cursor !== '0');
			expect(onMaster.size).toBeGreaterThan(0);
			expect(onMaster.size).toBeLessThan(300);
			for (const d of decisions) {
				expect([d.key, d.outcome, d.reason]).toEqual(onMaster.has(d.key) ? [d.key, 'ambiguous', 'not_replicated'] : [d.key, 'new', 'first_seen']);
			}
			// Counted per bucket, in the bucket's slot on the stalled master: as the Guard routed them.
			const stats = await store.stats(ns, 3_600_000);
			expect(stats).toMatchObject({ new: 100 + 300 - onMaster.size, ambiguous: onMaster.size, ambiguousByReason: { not_replicated: onMaster.size } });
		} finally {
			await store.close();
		}
	});

	it('a chunk whose bucket on another master fails undoes the claims the stalled master took (not_replicated) too, not only the New ones', async () => {
		const store = clusterStore();
		const ns = `ns-${randomUUID()}`;
		try {
			// A key whose record is planted as a string on its master: its bucket's claim fails.
			expect(await outcomes(store, ns, ['poison'])).toEqual({ new: 1 });
			const infos = await Promise.all(cluster.ports.map(async (port) => ({ port, info: await admin(port).info('replication') })));
			const masters = infos.filter((n) => /role:master/.test(n.info)).map((n) => n.port);
			let poisonMaster = 0;
			let recordKey = '';
			for (const port of masters) {
				const [found] = await admin(port).keys(`idem:*:r:poison`);
				if (found) [poisonMaster, recordKey] = [port, found];
			}
			expect(recordKey).not.toBe('');
			await admin(poisonMaster).del(recordKey);
			await admin(poisonMaster).set(recordKey, 'not a record');
			// The replica of another master stops answering: that master's claims are not_replicated.
			const stalled = infos.find((n) => /role:slave/.test(n.info) && Number(/master_port:(\d+)/.exec(n.info)![1]) !== poisonMaster)!;
			const sleeping = admin(stalled.port).call('DEBUG', 'SLEEP', '3').catch(() => undefined);
			await sleep(100);
			const keys = keysOf('k', 300);
			await expect(store.claim(ns, [...keys, 'poison'].map((key) => ({ key, fingerprint: null })), policy, actor)).rejects.toThrow(/WRONGTYPE|not a hash|wrong kind/i);
			await sleeping;
			// Every claim the failed chunk took is undone: on the stalled master and on the others.
			const left = await Promise.all(keys.map((key) => store.get(ns, key)));
			expect(left.filter((record) => record !== null).map((record) => record?.state)).toEqual([]);
		} finally {
			await store.close();
		}
	});
});

describe('a command that times out', () => {
	const srv = privateServer(['--enable-debug-command', 'yes']);

	it('says it timed out, not that Redis may not be running', async () => {
		const store = storeOn(srv.current, { allowNoPersistence: true, commandTimeoutMs: 300 });
		try {
			await store.clock();
			const sleeping = srv.current.admin.call('DEBUG', 'SLEEP', '1');
			const error = await store.get(`ns-${randomUUID()}`, 'a').catch((e: Error) => e);
			await sleeping;
			expect(error).toBeInstanceOf(StoreUnavailableError);
			expect((error as StoreUnavailableError).kind).toBe('timeout');
			expect((error as Error).message).toMatch(/did not answer in time while .* \(the command timed out\)/);
			expect((error as Error).message).not.toMatch(/Check that Redis is running/);
		} finally {
			await store.close();
		}
	});
});
