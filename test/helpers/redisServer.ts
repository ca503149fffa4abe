// A private redis-server for tests that need a server configured otherwise than the shared one
// (maxmemory, eviction policy, a replica, ACL users, renamed commands, persistence): a free
// loopback port, no persistence unless the arguments turn it on, data in a temp folder. kill()
// ends it as a crash would (SIGKILL) and keeps the folder, restart() starts it again on the same
// port and folder; stop() kills it and removes the folder.

import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { Redis } from 'ioredis';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;

export interface PrivateRedis {
	host: string;
	port: number;
	/** A client of its own (default user), closed by stop(). */
	admin: Redis;
	/** Its data folder. */
	dir: string;
	/** SIGKILL, as a crash: nothing is saved on the way out; the folder stays. */
	kill(): Promise<void>;
	/** A new server on the same port, folder and arguments (after kill()). */
	restart(): Promise<PrivateRedis>;
	stop(): Promise<void>;
}

/** A port the kernel just handed out and released: free for the server to take. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, HOST, () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the process has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
	return new Promise((resolve) => {
		const hard = setTimeout(() => child.kill('SIGKILL'), 2_000);
		child.once('exit', () => {
			clearTimeout(hard);
			resolve();
		});
		child.kill('SIGTERM');
	});
}

/**
 * Starts `redis-server` with extra arguments, e.g. ['--maxmemory', '3mb']; `password` for the
 * admin client when the arguments set --requirepass.
 */
export async function startRedis(args: string[] = [], password?: string, reuse?: { dir: string; port: number }): Promise<PrivateRedis> {
	const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'idem-redis-'));
	const port = reuse?.port ?? (await freePort());
	const child = spawn(
		'redis-server',
		['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
		{ stdio: 'ignore' },
	);
	child.on('error', () => undefined);
	const killIt = () => child.kill('SIGKILL');
	process.once('exit', killIt);
	const admin = new Redis({ host: HOST, port, password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
	admin.on('error', () => undefined);
	const kill = async () => {
		admin.disconnect();
		if (child.exitCode !== null || child.signalCode !== null) return;
		await new Promise<void>((resolve) => {
			child.once('exit', () => resolve());
			child.kill('SIGKILL');
		});
		process.off('exit', killIt);
	};
	const restart = () => startRedis(args, password, { dir, port });
	const stop = async () => {
		process.off('exit', killIt);
		admin.disconnect();
		await stopProcess(child);
		rmSync(dir, { recursive: true, force: true });
	};
	const deadline = Date.now() + START_TIMEOUT_MS;
	for (;;) {
		try {
			await admin.connect();
			await admin.ping();
			break;
		} catch (error) {
			// An error reply is an answer: the server is up (e.g. a replica without its primary).
			if ((error as Error).name === 'ReplyError' && admin.status === 'ready') break;
			admin.disconnect();
			if (Date.now() > deadline || child.exitCode !== null) {
				await stop();
				throw new Error(`Private redis-server on port ${port} did not start: ${String(error)}`);
			}
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	}
	return { host: HOST, port, admin, dir, kill, restart, stop };
}
