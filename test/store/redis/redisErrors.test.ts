// Errors that say what happened (issue 11 item 10): each kind of Redis refusal gets its own
// message and fix, instead of "Redis is unavailable… check host and port". Every kind that a
// private redis-server can be made to produce is produced for real: a replica (READONLY), a replica
// without its primary (MASTERDOWN), maxmemory below the data (OOM), an ACL user without the keys
// (NOPERM), a script that runs too long (BUSY), wrong and missing passwords (WRONGPASS, NOAUTH),
// a flushed script cache (no error: the script is sent again). The kinds that need a cluster in
// trouble or a disk that fails are translated from the reply ioredis would give.

import { randomUUID } from 'crypto';
import { Redis } from 'ioredis';
import { credentialTest } from '../../../nodes/shared/n8n/credentialTests';
import { IdempotencyError, messageWithHint, StoreUnavailableError } from '../../../nodes/shared/store/errors';
import { translateError } from '../../../nodes/shared/store/redis/errors';
import { createRedisStore, type RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import { freePort, startRedis, type PrivateRedis } from '../../helpers/redisServer';
import { claimPolicy, TEST_ACTOR } from '../../helpers/claims';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ReplyError } = require('redis-errors') as { ReplyError: new (message: string) => Error };

const policy = claimPolicy({ retentionMs: 0 });
const actor = TEST_ACTOR;
const claimOne = (store: RedisStore, key = 'a') =>
	store.claim(`ns-${randomUUID()}`, [{ key, fingerprint: null }], policy, actor).then(
		() => null,
		(e: Error) => e as StoreUnavailableError,
	);
const storeOn = (server: { host: string; port: number }, extra: { username?: string; password?: string } = {}) =>
	createRedisStore({ host: server.host, port: server.port, database: 0, tls: false, keyPrefix: 'idem:', mode: 'standalone', allowNoPersistence: true, ...extra });

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
	const deadline = Date.now() + 10_000;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

describe('Redis refusals, each with its own message and fix', () => {
	let primary: PrivateRedis;
	const stores: RedisStore[] = [];
	const open = (server: { host: string; port: number }, extra?: { username?: string; password?: string }) => {
		const store = storeOn(server, extra);
		stores.push(store);
		return store;
	};

	beforeAll(async () => {
		primary = await startRedis(['--busy-reply-threshold', '100']);
	});
	afterAll(async () => {
		await Promise.all(stores.map((store) => store.close()));
		await primary.stop();
	});

	it('READONLY: connected to a replica — point the credential at the primary', async () => {
		const replica = await startRedis(['--replicaof', primary.host, String(primary.port)]);
		try {
			await until(async () => /master_link_status:up/.test(await replica.admin.info('replication')), 'the replica link');
			const error = await claimOne(open(replica));
			expect(error).toBeInstanceOf(StoreUnavailableError);
			expect(error?.kind).toBe('READONLY');
			expect(error?.message).toMatch(/is a read-only replica \(READONLY\) while claiming keys/);
			expect(messageWithHint(error)).toMatch(/connected to a replica; point the Idempotency Store \(Redis\) credential at the primary/);
			expect(error?.message).not.toMatch(/check that Redis is running/i);
		} finally {
			await replica.stop();
		}
	});

	it('MASTERDOWN: a replica that lost its primary', async () => {
		const nowhere = await freePort();
		const replica = await startRedis(['--replicaof', '127.0.0.1', String(nowhere), '--replica-serve-stale-data', 'no']);
		try {
			const store = open(replica);
			// A read reaches the replica's stale-data refusal; a claim is refused earlier as a write
			// on a replica (its namespace registration), which gives the same fix.
			const error = (await store.get(`ns-${randomUUID()}`, 'a').then(
				() => null,
				(e: Error) => e as StoreUnavailableError,
			)) as StoreUnavailableError | null;
			expect(error?.kind).toBe('MASTERDOWN');
			expect(messageWithHint(error)).toMatch(/replica that lost its primary \(MASTERDOWN\).*Point .* at the primary/);
			const claimError = await claimOne(store);
			expect(['MASTERDOWN', 'READONLY']).toContain(claimError?.kind);
			expect(claimError?.hint).toMatch(/at the primary/);
		} finally {
			await replica.stop();
		}
	});

	it('OOM: maxmemory is full — nothing is written', async () => {
		await primary.admin.config('SET', 'maxmemory', '1');
		try {
			const before = await primary.admin.dbsize();
			const error = await claimOne(open(primary));
			expect(error?.kind).toBe('OOM');
			expect(messageWithHint(error)).toMatch(/is out of memory \(OOM: used memory is above 'maxmemory'\) while claiming keys\. Nothing was written\. Raise maxmemory/);
			expect(await primary.admin.dbsize()).toBe(before);
		} finally {
			await primary.admin.config('SET', 'maxmemory', '0');
		}
	});

	it('NOPERM: the ACL user may not touch the keys — names what to grant', async () => {
		await primary.admin.call('ACL', 'SETUSER', 'narrow', 'on', '>pw', '~other:*', '+@all');
		const error = await claimOne(open(primary, { username: 'narrow', password: 'pw' }));
		expect(error?.kind).toBe('NOPERM');
		expect(error?.message).toMatch(/does not let this user do it \(NOPERM: .*\) while claiming keys/);
		expect(messageWithHint(error)).toMatch(/ACL SETUSER <user> on ~<prefix>\* \+@read \+@write \+@scripting/);
		// The credential test says the same.
		const result = await credentialTest.idempotencyRedisApiTest.call({} as never, {
			id: 'c',
			name: 'r',
			type: 'idempotencyRedisApi',
			data: { mode: 'standalone', host: primary.host, port: primary.port, database: 0, tls: false, keyPrefix: 'idem:', username: 'narrow', password: 'pw', allowNoPersistence: true },
		} as never);
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/NOPERM/);
	});

	it('BUSY: another script runs too long — retry later', async () => {
		const blocker = new Redis({ host: primary.host, port: primary.port, maxRetriesPerRequest: 0 });
		blocker.on('error', () => undefined);
		const store = open(primary);
		await store.health();
		const busy = blocker.eval('while true do end', 0).catch(() => undefined);
		try {
			await new Promise((resolve) => setTimeout(resolve, 300));
			const error = await claimOne(store);
			expect(error?.kind).toBe('BUSY');
			expect(messageWithHint(error)).toMatch(/is busy running a long script \(BUSY\) while claiming keys\. Retry later/);
		} finally {
			await primary.admin.call('SCRIPT', 'KILL').catch(() => undefined);
			await busy;
			blocker.disconnect();
		}
	});

	it('a flushed script cache is no error: the script is sent again', async () => {
		const store = open(primary);
		expect(await claimOne(store, 'before-flush')).toBeNull();
		await primary.admin.call('SCRIPT', 'FLUSH');
		expect(await claimOne(store, 'after-flush')).toBeNull();
	});

	describe('a Redis with a password', () => {
		let locked: PrivateRedis;
		beforeAll(async () => {
			locked = await startRedis(['--requirepass', 'right'], 'right');
		});
		afterAll(async () => {
			await locked?.stop();
		});

		it('WRONGPASS: check the username and password', async () => {
			const error = await claimOne(open(locked, { password: 'Guess-9f3k' }));
			expect(error?.kind).toBe('WRONGPASS');
			expect(messageWithHint(error)).toMatch(/refused the login \(WRONGPASS.*Check the username and password in the Idempotency Store \(Redis\) credential/);
			expect(error?.message).not.toContain('Guess-9f3k');
		});

		it('NOAUTH: set the password', async () => {
			const error = await claimOne(open(locked));
			expect(error?.kind).toBe('NOAUTH');
			expect(messageWithHint(error)).toMatch(/requires a password \(NOAUTH\).*Set the password/);
		});
	});
});

describe('refusals a single server cannot be made to give, translated from the reply', () => {
	const cases: Array<[string, string, RegExp]> = [
		['LOADING', 'LOADING Redis is loading the dataset in memory', /still loading its data set after a restart \(LOADING\).*Retry in a moment/],
		['CLUSTERDOWN', 'CLUSTERDOWN The cluster is down', /Redis Cluster that is down .*\(CLUSTERDOWN\).*every hash slot needs a master/],
		['TRYAGAIN', 'TRYAGAIN Multiple keys request during rehashing of slot', /moving the keys .*\(TRYAGAIN\).*Retry in a moment/],
		['MISCONF', "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", /cannot save to disk \(MISCONF\).*Fix the disk/],
	];
	it.each(cases)('%s', (kind, reply, expected) => {
		const error = translateError(new ReplyError(reply), 'Redis at cache:6379', 'claiming keys', null) as StoreUnavailableError;
		expect(error).toBeInstanceOf(StoreUnavailableError);
		expect(error.kind).toBe(kind);
		expect(messageWithHint(error)).toMatch(expected);
		expect(error.message).not.toContain(error.hint!);
		expect(error.message.startsWith('Redis at cache:6379 ')).toBe(true);
	});

	it('an error reply of another kind is the call refused, not the store unavailable', () => {
		const error = translateError(new ReplyError('WRONGTYPE idempotency key x holds a string'), 'Redis at cache:6379', 'claiming keys', null);
		expect(error).toBeInstanceOf(IdempotencyError);
		expect(error).not.toBeInstanceOf(StoreUnavailableError);
	});
});
