// One process per embedded data folder. PGlite takes no lock of its own, and two processes on one
// folder each keep their own copy of the database in memory and overwrite each other's files.
//
// The lock is a Unix socket the holder listens on, at `lock.sock` in the folder. Whether its
// holder is alive is the kernel's answer, not a guess from age or pid: connecting succeeds while
// the holder's process exists (however busy it is) and is refused once it has died — the kernel
// closes a dead process's sockets. That holds across containers sharing one local volume (one
// kernel), where a pid does not (a restarted container reuses pids). The holder answers a
// connection with who it is, for the error the second process shows.
//
// Taking it is atomic: a fresh socket is bound under a unique name and hard-linked to `lock.sock`
// (link fails when the name exists). A lock whose holder is gone is moved aside under a unique
// name and checked again there before it is deleted; if what was moved is alive (another process
// took the lock in between), it is put back. The holder also checks before each statement that
// `lock.sock` is still its own socket (see `check()`), so a holder displaced in the one gap left
// stops instead of writing. Not covered: a folder on a network filesystem shared by several hosts
// (a socket connects only on its own host), stated in the README.
//
// On Windows the lock is a named pipe per folder, which the system frees when its holder exits.

import { createHash, randomBytes } from 'crypto';
import { linkSync, lstatSync, readFileSync, realpathSync, renameSync, symlinkSync, unlinkSync } from 'fs';
import { createConnection, createServer, type Server } from 'net';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import { StoreUnavailableError } from '../errors';

export const LOCK_FILE = 'lock.sock';

/** Who holds a folder: what its socket answers. */
export interface FolderHolder {
	pid: number;
	hostname: string;
	containerId?: string;
	/** When it took the folder (ISO time). */
	since: string;
}

export interface FolderLock {
	readonly holder: FolderHolder;
	/** Throws (and releases) when the folder's lock is no longer this process's. */
	check(): Promise<void>;
	release(): void;
}

const WHAT_TO_DO =
	'Run one n8n per embedded store folder: stop the other n8n (or wait until it has shut down), or give each n8n its own user folder (N8N_USER_FOLDER). For several n8n processes on the same claims, set Store to Postgres or Redis.';

// Unix socket paths are limited to 107 bytes; longer folders are reached through a short symlink.
const MAX_SOCKET_PATH = 100;

function containerId(): string | undefined {
	// Docker and Podman mount the container's own hostname file from a folder named after its id.
	try {
		return /\/containers\/([0-9a-f]{64})\//.exec(readFileSync('/proc/self/mountinfo', 'utf8'))?.[1]?.slice(0, 12);
	} catch {
		return undefined;
	}
}

function describe(holder: FolderHolder | null): string {
	if (!holder) return 'a process that did not say who it is';
	const container = holder.containerId ? `, container ${holder.containerId}` : '';
	return `process ${holder.pid} on host ${holder.hostname}${container}, since ${holder.since}`;
}

export function folderInUseError(dir: string, holder: FolderHolder | null, detail = ''): StoreUnavailableError {
	return new StoreUnavailableError(`The embedded store's folder ${dir} is in use by another n8n: ${describe(holder)}${detail}.`, {
		kind: 'folder_in_use',
		hint: WHAT_TO_DO,
	});
}

/** Runs `work` with a socket path short enough to bind or connect to. */
async function viaShortPath<T>(path: string, work: (socketPath: string) => Promise<T>): Promise<T> {
	if (Buffer.byteLength(path) <= MAX_SOCKET_PATH) return work(path);
	const slash = path.lastIndexOf('/');
	const link = join(tmpdir(), `idem-${randomBytes(6).toString('hex')}`);
	symlinkSync(path.slice(0, slash), link);
	try {
		return await work(join(link, path.slice(slash + 1)));
	} finally {
		unlinkSync(link);
	}
}

type Probe = { alive: true; holder: FolderHolder | null; detail?: string } | { alive: false; gone: boolean };

/** Asks the socket at `path` who holds it. Only a refused or missing socket counts as dead. */
function probe(path: string): Promise<Probe> {
	return viaShortPath(
		path,
		(socketPath) =>
			new Promise<Probe>((resolve) => {
				const socket = createConnection(socketPath);
				let reply = '';
				let connected = false;
				const finish = (result: Probe) => {
					clearTimeout(timer);
					socket.destroy();
					resolve(result);
				};
				const parse = (): FolderHolder | null => {
					try {
						return JSON.parse(reply) as FolderHolder;
					} catch {
						return null;
					}
				};
				// A holder that does not answer in time is alive all the same: the kernel accepted the connection.
				const timer = setTimeout(() => finish(connected ? { alive: true, holder: parse() } : { alive: true, holder: null, detail: ' (it did not answer in 2 s)' }), 2000);
				socket.setEncoding('utf8');
				socket.on('connect', () => (connected = true));
				socket.on('data', (chunk: string) => (reply += chunk));
				socket.on('end', () => finish({ alive: true, holder: parse() }));
				socket.on('error', (error: NodeJS.ErrnoException) => {
					if (connected) return finish({ alive: true, holder: parse() });
					if (error.code === 'ECONNREFUSED') return finish({ alive: false, gone: false });
					if (error.code === 'ENOENT') return finish({ alive: false, gone: true });
					// Anything else (no permission, backlog full…) cannot prove the holder gone.
					finish({ alive: true, holder: null, detail: ` (its lock could not be checked: ${error.code ?? error.message})` });
				});
			}),
	);
}

function errorCode(error: unknown): string | undefined {
	return (error as NodeJS.ErrnoException)?.code;
}

function listen(server: Server, path: string): Promise<void> {
	return viaShortPath(
		path,
		(socketPath) =>
			new Promise<void>((resolve, reject) => {
				server.once('error', reject);
				server.listen(socketPath, () => {
					server.off('error', reject);
					resolve();
				});
			}),
	);
}

function tryUnlink(path: string): void {
	try {
		unlinkSync(path);
	} catch {
		// Already gone.
	}
}

/** Moves a lock whose holder is gone out of the way — unless what it moved turns out to be alive. */
async function reap(lockPath: string, dir: string): Promise<void> {
	const aside = join(dir, `lock-gone-${randomBytes(6).toString('hex')}.sock`);
	try {
		renameSync(lockPath, aside);
	} catch (error) {
		if (errorCode(error) === 'ENOENT') return; // Someone else moved it.
		throw error;
	}
	const moved = await probe(aside);
	if (!moved.alive) return tryUnlink(aside);
	// Another process took the lock after our first check: put its lock back. If a third took the
	// free name meanwhile, the one moved aside finds out at its next check() and stops.
	try {
		linkSync(aside, lockPath);
	} catch {
		// See above.
	}
	tryUnlink(aside);
}

async function lockUnixFolder(dir: string, holder: FolderHolder): Promise<FolderLock> {
	const lockPath = join(dir, LOCK_FILE);
	const mine = join(dir, `lock-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
	const server = createServer((socket) => socket.end(JSON.stringify(holder)));
	server.on('error', () => undefined);
	await listen(server, mine);
	server.unref();
	const ino = lstatSync(mine).ino;
	let released = false;
	const isMine = () => {
		try {
			return lstatSync(lockPath).ino === ino;
		} catch {
			return false;
		}
	};
	const release = () => {
		if (released) return;
		released = true;
		process.off('exit', release);
		if (isMine()) tryUnlink(lockPath);
		tryUnlink(mine);
		server.close();
	};
	try {
		for (let attempt = 0; ; attempt++) {
			try {
				linkSync(mine, lockPath);
				break;
			} catch (error) {
				if (errorCode(error) !== 'EEXIST') throw error;
			}
			const found = await probe(lockPath);
			if (found.alive) throw folderInUseError(dir, found.holder, found.detail);
			// Many rounds means others keep taking and losing it: something is wrong, say so.
			if (attempt >= 20) throw folderInUseError(dir, null, ' (the lock changed hands 20 times while this process tried to take it)');
			if (!found.gone) await reap(lockPath, dir);
		}
	} catch (error) {
		release();
		throw error;
	}
	// The unique name is no longer needed: the socket stays reachable as lock.sock.
	tryUnlink(mine);
	// A clean exit leaves no lock behind (a killed process leaves a dead one, taken over next time).
	process.on('exit', release);
	return {
		holder,
		async check() {
			if (released) throw folderInUseError(dir, null, ' (this process has released it)');
			if (isMine()) return;
			const found = await probe(lockPath);
			release();
			throw folderInUseError(dir, found.alive ? found.holder : null, found.alive ? found.detail : ` (${LOCK_FILE} was removed while this process held it)`);
		},
		release,
	};
}

async function lockWindowsFolder(dir: string, holder: FolderHolder): Promise<FolderLock> {
	const folder = realpathSync.native(dir).toLowerCase();
	const pipe = `\\\\?\\pipe\\n8n-idempotency-${createHash('sha256').update(folder).digest('hex').slice(0, 32)}`;
	const server = createServer((socket) => socket.end(JSON.stringify(holder)));
	try {
		await listen(server, pipe);
	} catch (error) {
		if (errorCode(error) !== 'EADDRINUSE') throw error;
		const found = await probe(pipe);
		throw folderInUseError(dir, found.alive ? found.holder : null);
	}
	server.unref();
	let released = false;
	return {
		holder,
		async check() {
			if (released) throw folderInUseError(dir, null, ' (this process has released it)');
		},
		release() {
			released = true;
			server.close();
		},
	};
}

/** Takes the folder for this process, or throws a StoreUnavailableError naming its holder. */
export function lockFolder(dir: string): Promise<FolderLock> {
	const holder: FolderHolder = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
	const container = containerId();
	if (container) holder.containerId = container;
	return process.platform === 'win32' ? lockWindowsFolder(dir, holder) : lockUnixFolder(dir, holder);
}
