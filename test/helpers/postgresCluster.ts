// A private Postgres 15 primary with a streaming standby, for tests of what a failover does: each
// server in its own temp folder on a free loopback port, trust authentication. The servers run as
// the `postgres` system user when the tests run as root (initdb refuses root). stop() ends every
// server this helper started and removes the folders.

import { execFile } from 'child_process';
import { chownSync, mkdtempSync, rmSync, appendFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { promisify } from 'util';
import { freePort } from './redisServer';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';
const run = promisify(execFile);

/** uid/gid of the `postgres` user when running as root; undefined otherwise. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
	if (process.getuid?.() !== 0) return undefined;
	const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
	return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

export interface PgServer {
	port: number;
	dir: string;
	url: string;
	/** Runs one statement as the superuser. */
	sql<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
	/** `pg_ctl stop -m <mode>`: `immediate` is a crash (no checkpoint, no goodbye to standbys). */
	stop(mode?: 'fast' | 'immediate'): Promise<void>;
	start(): Promise<void>;
	/** Promotes a standby and waits until it accepts writes. */
	promote(): Promise<void>;
}

export interface PgCluster {
	primary: PgServer;
	standby: PgServer;
	/** Waits until the standby has replayed everything the primary has written so far. */
	caughtUp(): Promise<void>;
	/** Stops both servers and removes their folders. */
	stop(): Promise<void>;
}

async function sqlAt<T>(port: number, text: string, values: unknown[] = []): Promise<T[]> {
	const client = new Client({ host: HOST, port, user: 'postgres', database: 'postgres' });
	await client.connect();
	try {
		return (await client.query(text, values)).rows as T[];
	} finally {
		await client.end();
	}
}

function server(dir: string, port: number, user: { uid: number; gid: number } | undefined): PgServer {
	const ctl = (args: string[]) => run(join(BIN, 'pg_ctl'), ['-D', dir, ...args], { ...(user ?? {}), timeout: 30_000 });
	return {
		port,
		dir,
		url: `postgres://postgres@${HOST}:${port}/postgres`,
		sql: (text, values) => sqlAt(port, text, values),
		stop: async (mode = 'fast') => {
			await ctl(['stop', '-w', '-m', mode]).catch(() => undefined);
		},
		start: async () => {
			await ctl(['start', '-w', '-l', join(dir, 'server.log')]);
		},
		promote: async () => {
			await ctl(['promote', '-w']);
		},
	};
}

/**
 * A primary (wal_level replica) and a standby made by pg_basebackup, streaming from it — both
 * running. `primaryConf`: extra postgresql.conf lines for the primary (e.g.
 * synchronous_standby_names).
 */
export async function startCluster(primaryConf: string[] = []): Promise<PgCluster> {
	const user = await serverUser();
	const folder = (label: string) => {
		const dir = mkdtempSync(join(tmpdir(), `idem-pg-${label}-`));
		if (user) chownSync(dir, user.uid, user.gid);
		return dir;
	};
	const [primaryDir, standbyDir] = [folder('primary'), folder('standby')];
	const [primaryPort, standbyPort] = [await freePort(), await freePort()];
	const primary = server(primaryDir, primaryPort, user);
	const standby = server(standbyDir, standbyPort, user);
	const stop = async () => {
		await Promise.all([primary.stop('immediate'), standby.stop('immediate')]);
		rmSync(primaryDir, { recursive: true, force: true });
		rmSync(standbyDir, { recursive: true, force: true });
	};
	try {
		await run(join(BIN, 'initdb'), ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], { ...(user ?? {}) });
		const common = [`listen_addresses = '${HOST}'`, `unix_socket_directories = ''`, 'max_connections = 40', 'shared_buffers = 16MB'];
		appendFileSync(
			join(primaryDir, 'postgresql.conf'),
			[...common, `port = ${primaryPort}`, 'wal_level = replica', 'max_wal_senders = 4', "cluster_name = 'primary'", ...primaryConf, ''].join('\n'),
		);
		await primary.start();
		await run(join(BIN, 'pg_basebackup'), ['-h', HOST, '-p', String(primaryPort), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '--no-sync'], {
			...(user ?? {}),
			timeout: 60_000,
		});
		// The standby's own port and name (synchronous_standby_names matches application_name).
		appendFileSync(join(standbyDir, 'postgresql.conf'), [`port = ${standbyPort}`, "cluster_name = 'standby'", ''].join('\n'));
		appendFileSync(join(standbyDir, 'postgresql.auto.conf'), `primary_conninfo = 'host=${HOST} port=${primaryPort} user=postgres application_name=standby'\n`);
		await standby.start();
		await waitFor(async () => (await primary.sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'`))[0].n === '1');
	} catch (error) {
		await stop();
		throw error;
	}
	return {
		primary,
		standby,
		caughtUp: async () => {
			const [{ lsn }] = await primary.sql<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
			await waitFor(async () => (await standby.sql<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]))[0].ok);
		},
		stop,
	};
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (await check().catch(() => false)) return;
		if (Date.now() > deadline) throw new Error('timed out waiting for the private Postgres cluster');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}
