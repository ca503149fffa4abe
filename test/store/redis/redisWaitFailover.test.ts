// A failover between a claim script's reply and its WAIT (redis/replication.ts). The lane's WAIT is
// a request of its own after the script's reply. If the primary fails over in between (one address for the primary: a VIP, a DNS name, a proxy),
// the lane reconnects to the NEW primary and WAITs there: the new primary's own replica confirms
// it at once, so a claim the new primary never had is reported New (confirmed). The next delivery
// claims the same key on the new primary: New again — the write would happen twice. The lane
// counts its connection closes, so the claim is Ambiguous `not_replicated` instead. The count
// correction that follows (lua/not_replicated.lua) lands on the new primary too, which never had
// the claim: it moves nothing there.
//   P (old primary) ──held──▶ R1 (replica; gets nothing after hold) ──▶ R2 (chained replica of R1)
//   store ──proxy──▶ P; failover: kill P, promote R1, proxy → R1.
import { randomUUID } from 'crypto';
import { createRedisStore, type RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import type { ClaimPolicy } from '../../../nodes/shared/store/types';
import { actor, basePolicy } from '../conformance/fixture';
import { startRedis, type PrivateRedis } from '../../helpers/redisServer';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcpProxy';

jest.setTimeout(60_000);
const policy: ClaimPolicy = { ...basePolicy, retentionMs: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
	const end = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > end) throw new Error('timeout');
		await sleep(50);
	}
}

describe('WAIT sent after a failover between the claim script and its WAIT', () => {
	let p: PrivateRedis;
	let r1: PrivateRedis;
	let r2: PrivateRedis;
	let replLink: TcpProxy;
	let front: TcpProxy;
	beforeEach(async () => {
		p = await startRedis(['--repl-diskless-sync-delay', '0']);
		replLink = await startTcpProxy(p.host, p.port);
		r1 = await startRedis(['--replicaof', replLink.host, String(replLink.port), '--repl-diskless-sync-delay', '0']);
		await until(async () => /master_link_status:up/.test(await r1.admin.info('replication')));
		r2 = await startRedis(['--replicaof', r1.host, String(r1.port)]);
		await until(async () => /master_link_status:up/.test(await r2.admin.info('replication')));
		front = await startTcpProxy(p.host, p.port);
	});
	afterEach(async () => {
		await front.close();
		await r2.stop();
		await r1.stop();
		await replLink.close();
		await p.stop().catch(() => undefined);
	});

	it('a claim the new primary never received is not reported New', async () => {
		const store: RedisStore = createRedisStore({ host: front.host, port: front.port, database: 0, tls: false, keyPrefix: 'idem:', mode: 'standalone', allowNoPersistence: true, replicaTimeoutMs: 300 });
		const ns = `ns-${randomUUID()}`;
		const rw = (store as unknown as { replicas: { make: () => { scripts: Record<string, (...a: unknown[]) => Promise<unknown>> } } }).replicas;
		const make = rw.make.bind(rw);
		let failover = false;
		rw.make = () => {
			const lane = make();
			const claim = lane.scripts.claim;
			lane.scripts.claim = async (...a: unknown[]) => {
				const reply = await claim(...a);
				if (failover) {
					// The primary dies right after answering; R1 (which never got the claim) is promoted.
					await p.kill();
					await r1.admin.replicaof('NO', 'ONE');
					front.retarget(r1.host, r1.port);
					front.cutAll();
				}
				return reply;
			};
			return lane;
		};
		let first: string[] = [];
		try {
			expect((await store.durability()).waitFor).toBe(1);
			expect((await store.claim(ns, [{ key: 'warm', fingerprint: null }], policy, actor))[0].outcome).toBe('new');
			replLink.hold(); // R1 (and so R2) receives nothing from P from now on
			failover = true;
			const [d] = await store.claim(ns, [{ key: 'k', fingerprint: null }], policy, actor);
			first = [d.outcome, d.reason];
		} finally {
			await store.close();
		}
		const after = createRedisStore({ host: r1.host, port: r1.port, database: 0, tls: false, keyPrefix: 'idem:', mode: 'standalone', allowNoPersistence: true, replicaTimeoutMs: 300 });
		try {
			const [again] = await after.claim(ns, [{ key: 'k', fingerprint: null }], policy, actor);
			// At most one New for the key across the failover: the unconfirmed claim is not it.
			expect(first).toEqual(['ambiguous', 'not_replicated']);
			expect(again.outcome).toBe('new');
			// The store moved the unconfirmed claim's `new` count (lua/not_replicated.lua) on R1, which
			// never had that claim nor its count: nothing was moved there. R1 counts what it saw.
			expect(await after.stats(ns, 3_600_000)).toMatchObject({ new: 2, ambiguous: 0, ambiguousByReason: {} });
		} finally {
			await after.close();
		}
	});
});
