// One process per embedded data folder. PGlite takes no lock of its own, and two processes on one
// folder each keep their own copy of the database in memory and overwrite each other's files.
//
// Every process that wants the folder listens on a Unix socket of its own in the folder,
// `lock-<random>.sock`. Whether a socket's process is alive is the kernel's answer, not a guess
// from age or pid: connecting succeeds while the process exists (however busy it is) and is
// refused once it has died — the kernel closes a dead process's sockets. That holds across
// containers sharing one local volume (one kernel), where a pid does not (a restarted container
// reuses pids). A socket answers a connection with who its process is (for the error the next
// process shows) and whether it holds the folder or is still trying to take it.
//
// Taking the folder: publish our socket (bound and listening under a temporary name `.new`, then
// renamed into place, so a published socket that refuses a connection is a dead one; a process
// killed in between leaves a `.new` file, deleted by a later taker once it is a minute old and
// refuses a connection), then list the folder's
// `lock-*.sock` and ask each. A refused one is deleted: its name was random and is never used
// again, so the deletion cannot touch a live process. One that says it holds the folder, or is
// connected but silent (a busy holder: the kernel accepts, the answer waits for its event loop),
// means the folder is in use. One that says it is trying too, or closes the connection without a
// word (it is giving up or exiting): this process withdraws its socket and tries again after a
// random pause, up to 8 times. None: this process holds the folder, and says so from then on.
// Two processes cannot both take it: each publishes before it lists, so whichever published
// second sees the other's socket, and a live socket never counts as absent. Nothing ever moves or
// deletes a live process's socket, so a holder keeps the folder until it exits. The holder also
// checks before each statement that its socket is still in the folder (see `check()`; it is gone
// only if someone deleted it by hand), and the PGlite worker checks it again right before each
// statement starts (pgliteWorker.ts).
// Sockets are connectable by every user (mode 0666, like /tmp's sockets; the answer is a pid, a
// host name and a time): connecting needs write permission on the socket, and with the default
// mode a process of another user (n8n once started as root in the same folder, then as the node
// user) could not tell a live holder from a dead one and was refused for good.
// Not covered: a folder on a network filesystem shared by several hosts (a socket connects only
// on its own host), stated in the README.
//
// On Windows the lock is a named pipe per folder, which the system frees when its holder exits.

import { createHash, randomBytes } from 'crypto';
import { lstatSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, unlinkSync } from 'fs';
import { createConnection, createServer, type Server, type Socket } from 'net';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import { StoreUnavailableError } from '../errors';
import { errorCode, notWritable } from './folderAccess';

/** A lock socket's name in the folder: `lock-` and 16 random hex digits, `.sock`. */
export const isLockFile = (name: string): boolean => /^lock-[0-9a-f]{16}\.sock$/.test(name);

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
	/** The lock's socket file and its inode, for the PGlite worker's own check (not on Windows). */
	readonly file?: { path: string; ino: string };
	/** Throws (and releases) when the folder's lock is no longer this process's. */
	check(): Promise<void>;
	/** Releases it and returns the error to fail calls with, when its socket was found gone. */
	lost(): StoreUnavailableError;
	release(): void;
}

const WHAT_TO_DO =
	'Run one n8n per embedded store folder: stop the other n8n (or wait until it has shut down), or give each n8n its own user folder (N8N_USER_FOLDER). For several n8n processes on the same claims, set Store to Postgres or Redis.';

// Unix socket paths are limited to 107 bytes; longer folders are reached through a short symlink.
const MAX_SOCKET_PATH = 100;
// Processes that keep meeting while each tries to take the folder give up after this many tries.
const MAX_TRIES = 8;
// A `.new` socket this old that refuses a connection was left by a killed process.
const UNPUBLISHED_MS = 60_000;

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

/** What a lock socket answers: its process, and whether it holds the folder or is trying to. */
type Answer = FolderHolder & { state: 'holding' | 'trying' };

/**
 * Answers a connection to this process's lock socket. The asker may be gone by then: it waits 2 s
 * for the answer, and this process's event loop may have been busy (or the process stopped) for
 * longer, or the asker was killed. Writing to it then fails (EPIPE, ECONNRESET); that error is
 * ignored — unhandled, it would end this process.
 */
function answer(socket: Socket, reply: Answer): void {
	socket.on('error', () => undefined);
	socket.end(JSON.stringify(reply));
}

type Alive = { alive: true; holder: FolderHolder | null; holds: boolean; detail?: string };
type Probe = Alive | { alive: false; gone: boolean };

/**
 * Asks the socket at `path` who it is. Only a refused or missing socket counts as dead. A live one
 * that does not say it is still trying counts as the holder: silent (a busy holder: the kernel
 * accepts the connection, the answer waits for its event loop), or not one of ours.
 */
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
				/** What it said; `closed`: it closed the connection (else it was still silent after 2 s). */
				const answered = (closed: boolean): Probe => {
					// Closed without a word: it closed its socket meanwhile — it is giving up or exiting,
					// not holding. (It is not taken for gone either: the next try asks it again.)
					if (!reply && closed) return { alive: true, holder: null, holds: false };
					let answer: Partial<Answer> | null = null;
					try {
						answer = JSON.parse(reply) as Partial<Answer>;
					} catch {
						// Silent, or not in our form.
					}
					const detail = reply ? undefined : ' (it did not answer in 2 s)';
					if (!answer || typeof answer !== 'object') return { alive: true, holder: null, holds: true, detail };
					const { state, ...holder } = answer;
					return { alive: true, holder: holder as FolderHolder, holds: state !== 'trying' };
				};
				// A process that does not answer in time is alive all the same: the kernel accepted the connection.
				const timer = setTimeout(() => finish(answered(false)), 2000);
				socket.setEncoding('utf8');
				socket.on('connect', () => (connected = true));
				socket.on('data', (chunk: string) => (reply += chunk));
				socket.on('end', () => finish(answered(true)));
				socket.on('error', (error: NodeJS.ErrnoException) => {
					if (connected || error.code === 'ECONNRESET') return finish(answered(true));
					if (error.code === 'ECONNREFUSED') return finish({ alive: false, gone: false });
					if (error.code === 'ENOENT') return finish({ alive: false, gone: true });
					// Anything else (no permission, backlog full…) cannot prove the process gone.
					finish({ alive: true, holder: null, holds: true, detail: uncheckable(path, error) });
				});
			}),
	);
}

/**
 * Why a lock socket could not be asked. No permission (EACCES): a socket of another user that
 * this process may not connect to — ours are made connectable by all (0666), so something else
 * changed its mode or forbids the connection (a security policy). Dead or alive cannot be told,
 * so it is never deleted here: whoever knows deletes it.
 */
function uncheckable(path: string, error: NodeJS.ErrnoException): string {
	if (error.code !== 'EACCES') return ` (its lock could not be checked: ${error.code ?? error.message})`;
	let owner = 'another user';
	try {
		owner = `user id ${lstatSync(path).uid}`;
	} catch {
		// Gone meanwhile: the next try will tell.
	}
	return ` (its lock ${path} belongs to ${owner}, and this process may not connect to it to ask whether it still runs (EACCES); if no n8n of that user uses the folder, delete that file)`;
}

/** Listens on `path`; `everyone`: the socket file is made connectable by every user (0666). */
function listen(server: Server, path: string, everyone = false): Promise<void> {
	return viaShortPath(
		path,
		(socketPath) =>
			new Promise<void>((resolve, reject) => {
				server.once('error', reject);
				server.listen({ path: socketPath, readableAll: everyone, writableAll: everyone }, () => {
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The folder's other lock sockets and what each answers. */
async function otherLocks(dir: string, own: string): Promise<Array<{ path: string; found: Probe }>> {
	const names = readdirSync(dir).filter((name) => isLockFile(name) && name !== own);
	return Promise.all(names.map(async (name) => ({ path: join(dir, name), found: await probe(join(dir, name)) })));
}

/**
 * Deletes the `.new` sockets of processes killed between listening and publishing: a minute old
 * (a socket file exists a moment before it listens, and refuses meanwhile) and refusing a
 * connection. Their random names are never used again.
 */
async function sweepUnpublished(dir: string): Promise<void> {
	const names = readdirSync(dir).filter((name) => /^lock-[0-9a-f]{16}\.new$/.test(name));
	await Promise.all(
		names.map(async (name) => {
			const path = join(dir, name);
			try {
				if (Date.now() - lstatSync(path).mtimeMs < UNPUBLISHED_MS) return;
			} catch {
				return;
			}
			const found = await probe(path);
			if (!found.alive && !found.gone) tryUnlink(path);
		}),
	);
}

const holding = (found: Probe): found is Alive => found.alive && found.holds;
const trying = (found: Probe): found is Alive => found.alive && !found.holds;

/** The live process that holds the folder, if any, as its socket answered. */
async function holderOf(dir: string, own: string): Promise<Alive | undefined> {
	return (await otherLocks(dir, own)).map(({ found }) => found).find(holding);
}

/** One try: the lock, or (when another process is trying too) who that is. */
async function tryToTake(dir: string, self: FolderHolder): Promise<{ lock: FolderLock } | { trying: FolderHolder | null }> {
	const id = randomBytes(8).toString('hex');
	const name = `lock-${id}.sock`;
	const path = join(dir, name);
	const unpublished = join(dir, `lock-${id}.new`);
	let holds = false;
	const server = createServer((socket) => answer(socket, { ...self, state: holds ? 'holding' : 'trying' }));
	server.on('error', () => undefined);
	let ino: string | undefined;
	const isMine = () => {
		try {
			return lstatSync(path, { bigint: true }).ino.toString() === ino;
		} catch {
			return false;
		}
	};
	let released = false;
	const release = () => {
		if (released) return;
		released = true;
		process.off('exit', release);
		if (isMine()) tryUnlink(path);
		server.close();
	};
	const removed = () => folderInUseError(dir, null, ` (its lock ${name} was removed while this process held it)`);
	// A clean exit leaves no socket behind (a killed process leaves a dead one, deleted by the next).
	process.on('exit', release);
	try {
		// Listening before it takes its lock-*.sock name, so a socket under such a name that refuses
		// a connection is a dead one, never one about to listen.
		await listen(server, unpublished, true).catch((error) => {
			throw notWritable(dir, error);
		});
		server.unref();
		renameSync(unpublished, path);
		ino = lstatSync(path, { bigint: true }).ino.toString();
		const [others] = await Promise.all([otherLocks(dir, name), sweepUnpublished(dir)]);
		// A refused socket's process is gone, and its random name is never used again.
		for (const { path: other, found } of others) if (!found.alive && !found.gone) tryUnlink(other);
		const holder = others.map(({ found }) => found).find(holding);
		if (holder) throw folderInUseError(dir, holder.holder, holder.detail);
		// Another process is trying too (or our socket was deleted meanwhile): try again after a pause.
		const other = others.map(({ found }) => found).find(trying);
		if (other || !isMine()) {
			release();
			return { trying: other?.holder ?? null };
		}
		holds = true;
	} catch (error) {
		release();
		tryUnlink(unpublished);
		throw error;
	}
	return {
		lock: {
			holder: self,
			file: { path, ino },
			async check() {
				if (released) throw folderInUseError(dir, null, ' (this process has released it)');
				if (isMine()) return;
				release();
				const other = await holderOf(dir, name);
				throw other ? folderInUseError(dir, other.holder, other.detail) : removed();
			},
			lost() {
				release();
				return removed();
			},
			release,
		},
	};
}

async function lockUnixFolder(dir: string, holder: FolderHolder): Promise<FolderLock> {
	let other: FolderHolder | null = null;
	for (let tries = 1; tries <= MAX_TRIES; tries++) {
		const result = await tryToTake(dir, holder);
		if ('lock' in result) return result.lock;
		other = result.trying;
		// Random pauses, longer each time: of processes that keep meeting, one soon tries alone.
		if (tries < MAX_TRIES) await sleep(Math.random() * 50 * 2 ** Math.min(tries, 4));
	}
	throw folderInUseError(dir, other, ` (other processes kept trying to take it at the same time; this one gave up after ${MAX_TRIES} tries)`);
}

async function lockWindowsFolder(dir: string, holder: FolderHolder): Promise<FolderLock> {
	const folder = realpathSync.native(dir).toLowerCase();
	const pipe = `\\\\?\\pipe\\n8n-idempotency-${createHash('sha256').update(folder).digest('hex').slice(0, 32)}`;
	const server = createServer((socket) => answer(socket, { ...holder, state: 'holding' }));
	try {
		await listen(server, pipe);
	} catch (error) {
		if (errorCode(error) !== 'EADDRINUSE') throw error;
		const found = await probe(pipe);
		throw folderInUseError(dir, found.alive ? found.holder : null);
	}
	// An error on the listening pipe afterwards must not end n8n's process (an unhandled 'error').
	server.on('error', () => undefined);
	server.unref();
	let released = false;
	return {
		holder,
		async check() {
			if (released) throw folderInUseError(dir, null, ' (this process has released it)');
		},
		lost() {
			released = true;
			server.close();
			return folderInUseError(dir, null, ' (this process has released it)');
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
