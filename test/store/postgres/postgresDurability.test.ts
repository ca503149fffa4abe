// What a failover does to acknowledged writes, on private Postgres clusters the test starts: a
// primary with a standby streaming asynchronously (Postgres's and Patroni's default), and one
// whose synchronous_standby_names makes the standby confirm every commit. The standby is stopped
// before a second batch of writes — it misses them, deterministically —, then the primary crashes
// (pg_ctl stop -m immediate) and the standby is promoted. The store's durability report says
// beforehand what the failover then does.

import type { ICredentialTestFunctions } from 'n8n-workflow';
import { credentialTest } from '../../../nodes/shared/n8n/credentialTests';
import { PostgresStore } from '../../../nodes/shared/store/postgres/PostgresStore';
import { poolExecutor } from '../../../nodes/shared/store/postgres/executor';
import { StoreMisconfiguredError } from '../../../nodes/shared/store/errors';
import { startCluster, type PgCluster, type PgServer } from '../../helpers/postgresCluster';
import { POSTGRES_URL } from '../../helpers/postgres';
import { actor, basePolicy, rejectionOf, transitionRequest } from '../conformance';

const BATCH = 300;
const NS = 'crm-leads';
const opened: PostgresStore[] = [];

function storeOn(server: PgServer, options: { requireSynchronousStandby?: boolean; user?: string; schema?: string } = {}): PostgresStore {
	const store = new PostgresStore({
		host: '127.0.0.1',
		port: server.port,
		database: 'postgres',
		user: options.user ?? 'postgres',
		ssl: 'disable',
		schema: options.schema ?? 'n8n_idempotency',
		maxConnections: 4,
		requireSynchronousStandby: options.requireSynchronousStandby,
	});
	opened.push(store);
	return store;
}

const keys = (label: string) => Array.from({ length: BATCH }, (_, i) => `${label}-${i}`);

/** Claims the keys and marks them processed: resolves once both are acknowledged. */
async function processAll(store: PostgresStore, list: string[]): Promise<void> {
	const decisions = await store.claim(NS, list.map((key) => ({ key, fingerprint: null })), basePolicy, actor);
	await store.transition(NS, decisions.map((d) => transitionRequest('markProcessed', d.key, d.claimToken, { resultJson: '{"id":1}' })), actor);
}

/** How the keys are decided on `store` now: { new: n, duplicate: m }. */
async function redeliver(store: PostgresStore, list: string[]): Promise<Record<string, number>> {
	const decisions = await store.claim(NS, list.map((key) => ({ key, fingerprint: null })), basePolicy, actor);
	const counts: Record<string, number> = {};
	for (const d of decisions) counts[d.outcome] = (counts[d.outcome] ?? 0) + 1;
	return counts;
}

afterAll(async () => {
	await Promise.all(opened.map((store) => store.close().catch(() => undefined)));
});

describe('Postgres failover to an asynchronous standby', () => {
	let cluster: PgCluster;
	beforeAll(async () => {
		cluster = await startCluster();
		// A user without pg_monitor whose sessions default to synchronous_commit off.
		await cluster.primary.sql(`CREATE ROLE plain LOGIN; ALTER ROLE plain SET synchronous_commit = off; GRANT CREATE ON DATABASE postgres TO plain`);
	}, 60_000);
	afterAll(async () => {
		await cluster?.stop();
	});

	it('warns before, and the failover then loses the acknowledged writes the standby missed', async () => {
		const store = storeOn(cluster.primary);
		const report = await store.durability();
		expect(report).toMatchObject({
			safe: false,
			findings: [
				{
					level: 'warn',
					setting: "synchronous_standby_names '' with 1 asynchronous standby",
					risk: expect.stringMatching(/A failover to a standby loses the acknowledged claims and processed marks it had not received/),
					fix: expect.stringMatching(/synchronous_standby_names = 'ANY 1 \(standby1, standby2\)'/),
				},
			],
		});
		const health = await store.health();
		expect(health).toMatchObject({ ok: true, warning: expect.stringContaining("synchronous_standby_names '' with 1 asynchronous standby") });
		expect(health.message).toContain("synchronous_commit on, fsync on, synchronous_standby_names '', 1 standby streaming, 0 synchronous");

		// The credential's Test button says it, with the setting and the fix.
		const tested = await credentialTest.idempotencyPostgresApiTest.call({} as ICredentialTestFunctions, {
			id: 'c',
			name: 'Idempotency Store (Postgres)',
			type: 'idempotencyPostgresApi',
			data: { host: '127.0.0.1', port: cluster.primary.port, database: 'postgres', user: 'postgres', ssl: 'disable', schema: 'n8n_idempotency' },
		});
		expect(tested.message).toMatch(/synchronous_standby_names '' with 1 asynchronous standby\. A failover to a standby loses .*'ANY 1 \(/);

		// The opt-in refuses claims here, and says why; a settlement still goes through.
		const strict = storeOn(cluster.primary, { requireSynchronousStandby: true });
		expect((await strict.durability()).findings.map((f) => f.level)).toEqual(['refuse']);
		const refused = await rejectionOf(() => strict.claim(NS, [{ key: 'strict', fingerprint: null }], basePolicy, actor));
		expect(refused).toBeInstanceOf(StoreMisconfiguredError);
		expect(refused.message).toMatch(/can lose acknowledged writes in a failover .* Claims are refused: the credential requires a synchronous standby/);
		expect(await strict.health()).toMatchObject({ ok: false, message: expect.stringMatching(/^Claims are refused on Postgres/) });
		expect(await store.get(NS, 'strict')).toBeNull();

		// A user who may not see the standbys' state still sees that one streams; its sessions'
		// synchronous_commit off is raised to local.
		const plain = storeOn(cluster.primary, { user: 'plain', schema: 'plain_idempotency' });
		expect(await plain.health()).toMatchObject({
			ok: true,
			message: expect.stringContaining("synchronous_commit local, fsync on, synchronous_standby_names '', 1 standby streaming (sync state not visible to this user)"),
			warning: expect.stringContaining("synchronous_standby_names '' with 1 asynchronous standby"),
		});

		const before = keys('before');
		await processAll(store, before);
		await cluster.caughtUp();
		await cluster.standby.stop('fast');
		const missed = keys('missed');
		await processAll(store, missed); // acknowledged by the primary alone
		await cluster.primary.stop('immediate');
		await cluster.standby.start();
		await cluster.standby.promote();

		const after = storeOn(cluster.standby);
		expect({ before: await redeliver(after, before), missed: await redeliver(after, missed) }).toEqual({
			before: { duplicate: BATCH },
			missed: { new: BATCH }, // 300 of 300 acknowledged processed keys are new again: a second write each
		});
		// The promoted standby has no standby of its own: nothing to warn about.
		expect(await after.durability()).toMatchObject({ safe: true, findings: [] });
	}, 60_000);

	it('warns about fsync off', async () => {
		// The standby promoted above is the server now.
		const server = cluster.standby;
		await server.sql(`ALTER SYSTEM SET fsync = off`);
		await server.sql(`SELECT pg_reload_conf()`);
		const store = storeOn(server);
		expect(await store.durability()).toMatchObject({
			safe: false,
			findings: [{ level: 'warn', setting: 'fsync off', risk: expect.stringMatching(/crash of the server machine/), fix: expect.stringMatching(/fsync = on/) }],
		});
		expect((await store.health()).warning).toMatch(/^fsync off\. A crash/);

		// Set right, and the store's connections dropped (as a failover drops them): the store reads
		// the server again on its next call, not only every few minutes.
		await server.sql(`ALTER SYSTEM RESET fsync`);
		await server.sql(`SELECT pg_reload_conf()`);
		expect((await store.durability()).findings).toHaveLength(1); // still the reading from before
		await server.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'n8n-nodes-idempotency'`);
		await new Promise((resolve) => setTimeout(resolve, 200));
		await store.get(NS, 'any');
		expect(await store.durability()).toMatchObject({ safe: true, findings: [] });
	}, 30_000);

	it('says so when the server will not tell, and still claims unless the credential requires a synchronous standby', async () => {
		const server = cluster.standby; // the promoted one
		await server.sql(`REVOKE EXECUTE ON FUNCTION pg_is_in_recovery() FROM PUBLIC`);
		try {
			const plain = storeOn(server, { user: 'plain', schema: 'plain_unknown' });
			expect(await plain.durability()).toMatchObject({
				safe: false,
				findings: [{ level: 'unknown', risk: expect.stringMatching(/did not say .* \(permission denied for function pg_is_in_recovery\)/) }],
			});
			expect((await plain.claim(NS, [{ key: 'k', fingerprint: null }], basePolicy, actor))[0].outcome).toBe('new');
			const strict = storeOn(server, { user: 'plain', schema: 'plain_unknown', requireSynchronousStandby: true });
			await expect(strict.claim(NS, [{ key: 'k2', fingerprint: null }], basePolicy, actor)).rejects.toThrow(StoreMisconfiguredError);
		} finally {
			await server.sql(`GRANT EXECUTE ON FUNCTION pg_is_in_recovery() TO PUBLIC`);
		}
	}, 30_000);
});

describe('Postgres failover to a synchronous standby, with Require Synchronous Standby', () => {
	let cluster: PgCluster;
	beforeAll(async () => {
		cluster = await startCluster(["synchronous_standby_names = 'ANY 1 (standby)'"]);
	}, 60_000);
	afterAll(async () => {
		await cluster?.stop();
	});

	it('reports it safe, acknowledges nothing the standby does not have, and loses no acknowledged write', async () => {
		const store = storeOn(cluster.primary, { requireSynchronousStandby: true });
		expect(await store.durability()).toMatchObject({ safe: true, findings: [] });
		const health = await store.health();
		expect(health).toMatchObject({ ok: true, message: expect.stringContaining("synchronous_standby_names 'ANY 1 (standby)', 1 standby streaming, 1 synchronous") });
		expect(health.warning).toBeUndefined();

		const before = keys('before');
		await processAll(store, before);
		await cluster.standby.stop('fast');
		// The standby cannot confirm: the primary acknowledges none of these.
		const missed = keys('missed');
		let acknowledged = false;
		const pending = processAll(store, missed).then(
			() => (acknowledged = true),
			() => undefined,
		);
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		await cluster.primary.stop('immediate');
		await pending;
		expect(acknowledged).toBe(false);
		await cluster.standby.start();
		await cluster.standby.promote();
		// The promoted standby has the primary's synchronous_standby_names and no standby of its own:
		// its commits would wait forever. An operator (or Patroni) clears it.
		await cluster.standby.sql(`ALTER SYSTEM SET synchronous_standby_names = ''`);
		await cluster.standby.sql(`SELECT pg_reload_conf()`);

		const after = storeOn(cluster.standby);
		expect(await redeliver(after, before)).toEqual({ duplicate: BATCH }); // 0 of 300 acknowledged keys lost
	}, 60_000);
});

describe('the embedded store', () => {
	it('does not ask a server about standbys: its report is the base one', async () => {
		const store = new PostgresStore({ kind: 'embedded', name: 'The embedded store', schema: 'unused', executor: poolExecutor({ connectionString: POSTGRES_URL, max: 1 }), where: 'a folder' });
		opened.push(store);
		expect(await store.durability()).toMatchObject({ safe: true, findings: [] });
	});
});
