// The embedded store's executor as n8n's thread sees it: the folder's lock (folderLock.ts), a
// free-space check before each statement, and PGlite in a worker thread (pgliteWorker.ts) under
// a watchdog. On a disk too full for PGlite to finish a write, PGlite fails the write and then
// spins inside its next call: in n8n's own thread that stops every workflow and timer of the
// process for good. So statements are refused while the folder's disk has less than
// `minFreeBytes` free, and since free space can run out between the check and the write (another
// program fills the disk), a worker that answers nothing for `stallMs` while statements wait is
// ended — the calls waiting on it fail with a clear error — and a new one opens the folder on the
// next call (Postgres's own crash recovery, as after a killed process: committed statements stay).
// A worker whose folder lock is gone (the worker checks it before each statement starts) is ended
// too, never closed (PGlite's shutdown writes the folder's files), and the calls waiting on it fail
// with the folder_in_use error; the next call takes the folder again if no other process has.

import { statfs } from 'fs/promises';
import { mkdirSync } from 'fs';
import { join } from 'path';
import { Worker } from 'worker_threads';
import { StoreUnavailableError } from '../errors';
import type { Query, SqlExecutor } from '../postgres/executor';
import { settledWithin } from '../../util/settledWithin';
import { notWritable } from './folderAccess';
import { lockFolder, type FolderLock } from './folderLock';
import type { CallReply, WorkerError, WorkerOptions, WorkerReply, WorkerRequest } from './pgliteWorker';

export interface EmbeddedExecutorOptions {
	dataDir: string;
	/**
	 * Statements are refused while the folder's filesystem has less free space than this. PGlite
	 * writes its log in 16 MB segments and may need a new one (and room for the tables) at any write.
	 */
	minFreeBytes?: number;
	/** A worker that answers nothing for this long while statements wait is ended and replaced. */
	stallMs?: number;
	/** Opening may take this long: the first open creates the database, a later one may recover it. */
	openMs?: number;
}

export const MIN_FREE_BYTES = 64 * 1024 * 1024;
const STALL_MS = 60_000;
const OPEN_MS = 180_000;
// A worker asked to end that has not ended by then keeps the store unavailable (never two PGlites
// on one folder).
const END_MS = 10_000;

interface Pending {
	resolve: (reply: CallReply) => void;
	reject: (error: Error) => void;
}

interface Running {
	worker: Worker;
	/** The lock it was started under. */
	lock: Promise<FolderLock>;
	ready: Promise<void>;
	isReady: boolean;
	pending: Map<number, Pending>;
	/** When the worker last answered, or was last given work while idle. */
	lastProgress: number;
	watchdog: NodeJS.Timeout;
	/** Why it was ended, once it was: later calls on it (a transaction's) fail with the same. */
	stopped: Error | null;
}

const mb = (bytes: number) => `${Math.max(0, Math.floor(bytes / (1024 * 1024)))} MB`;

function workerScript(): { script: string; eval: boolean } {
	if (!__filename.endsWith('.ts')) return { script: join(__dirname, 'pgliteWorker.js'), eval: false };
	// Running from the TypeScript sources (the repo's tests): compile modules on load with the
	// repo's TypeScript; the package itself runs the compiled pgliteWorker.js above.
	const hook = join(__dirname, '..', '..', '..', '..', 'test', 'helpers', 'tsRequire.js');
	const entry = join(__dirname, 'pgliteWorker.ts');
	return { script: `require(${JSON.stringify(hook)}); require(${JSON.stringify(entry)});`, eval: true };
}

function fromWorker(error: WorkerError): Error {
	return Object.assign(new Error(error.message), error);
}

/** An executor over PGlite in a worker thread, with the folder locked to this process while open. */
export function workerExecutor(options: EmbeddedExecutorOptions): SqlExecutor {
	const { dataDir } = options;
	const minFree = options.minFreeBytes ?? MIN_FREE_BYTES;
	const stallMs = options.stallMs ?? STALL_MS;
	const openMs = options.openMs ?? OPEN_MS;
	let lock: Promise<FolderLock> | null = null;
	let running: Running | null = null;
	/** A worker being ended: no new one opens the folder before it has. */
	let ending: Promise<void> | null = null;
	let nextId = 0;
	let checked = { at: 0, free: Infinity };

	async function freeBytes(): Promise<number> {
		const stats = await statfs(dataDir);
		return stats.bavail * stats.bsize;
	}

	/** The free-space look under way: calls made meanwhile wait for it rather than start their own. */
	let looking: Promise<void> | null = null;

	async function checkFreeSpace(): Promise<void> {
		// Plenty of room: look again once a second; close to the limit: before every statement.
		if (checked.free > 4 * minFree && Date.now() - checked.at < 1000) return;
		// One look for the calls made while it runs: each of them awaits the same promise, so they
		// reach the worker in the order they were made. With a look each, the calls went on in the
		// order their looks came back from the thread pool, and statements sent one after another
		// without waiting ran in another order.
		looking ??= freeBytes()
			.then((free) => {
				checked = { at: Date.now(), free };
			})
			.finally(() => {
				looking = null;
			});
		await looking;
		if (checked.free < minFree) {
			throw new StoreUnavailableError(
				`The embedded store's folder ${dataDir} has ${mb(checked.free)} of disk space free, less than the ${mb(minFree)} it needs to finish a write safely; nothing was written.`,
				{ kind: 'disk_full', hint: 'Free space on the disk that holds the n8n user folder; the store works again as soon as there is room.' },
			);
		}
	}

	function stop(target: Running, error: Error): void {
		if (target.stopped) return;
		target.stopped = error;
		if (running === target) running = null;
		clearInterval(target.watchdog);
		for (const call of target.pending.values()) call.reject(error);
		target.pending.clear();
		const ended = target.worker.terminate().then(() => undefined);
		ending = ended;
		void ended.finally(() => {
			if (ending === ended) ending = null;
		});
	}

	async function stalled(target: Running): Promise<void> {
		const free = await freeBytes().then(
			(bytes) => `${mb(bytes)} free on its disk`,
			() => 'free disk space unknown',
		);
		const waited = Math.round((target.isReady ? stallMs : openMs) / 1000);
		stop(
			target,
			new StoreUnavailableError(
				`The embedded store at ${dataDir} stopped answering for ${waited} s (${free}) and was ended; it reopens on the next call. This call's outcome is unknown: a claim it made may already be saved, and shows as in progress until its lease runs out.`,
				{ kind: 'stalled', hint: 'If the disk is full, free space on it; otherwise retry.' },
			),
		);
	}

	function start(taken: Promise<FolderLock>, held: FolderLock): Running {
		const { script, eval: isEval } = workerScript();
		const worker = new Worker(script, { eval: isEval, workerData: { dataDir, lock: held.file } satisfies WorkerOptions });
		// The store's own close() ends the worker; it must not keep n8n's process alive alone.
		worker.unref();
		let markReady!: () => void;
		let failOpen!: (error: Error) => void;
		const target: Running = {
			worker,
			lock: taken,
			ready: new Promise<void>((resolve, reject) => {
				markReady = resolve;
				failOpen = reject;
			}),
			isReady: false,
			pending: new Map(),
			lastProgress: Date.now(),
			stopped: null,
			watchdog: setInterval(() => {
				const limit = target.isReady ? stallMs : openMs;
				if ((target.pending.size > 0 || !target.isReady) && Date.now() - target.lastProgress > limit) {
					clearInterval(target.watchdog);
					void stalled(target);
				}
			}, Math.min(1000, Math.max(50, stallMs / 4))),
		};
		target.watchdog.unref();
		target.ready.catch(() => undefined);
		worker.on('message', (reply: WorkerReply) => {
			target.lastProgress = Date.now();
			if ('lost' in reply) {
				// Ended at once: the next call takes the folder again, or is told who has it.
				if (lock === target.lock) lock = null;
				const error = held.lost();
				failOpen(error);
				stop(target, error);
				return;
			}
			if ('ready' in reply) {
				if (reply.error) {
					const error = fromWorker(reply.error);
					failOpen(error);
					stop(target, error);
				} else {
					target.isReady = true;
					markReady();
				}
				return;
			}
			const call = target.pending.get(reply.id);
			target.pending.delete(reply.id);
			if (!call) return;
			if (reply.error) call.reject(fromWorker(reply.error));
			else call.resolve(reply);
		});
		const died = (error: Error) => {
			failOpen(error);
			stop(target, error);
		};
		worker.on('error', (error) =>
			died(new StoreUnavailableError(`The embedded store at ${dataDir} failed and was ended (${error.message}); it reopens on the next call.`, { kind: 'stalled', cause: error })),
		);
		worker.on('exit', (code) => {
			if (running === target) died(new StoreUnavailableError(`The embedded store at ${dataDir} ended unexpectedly (exit code ${code}); it reopens on the next call.`, { kind: 'stalled' }));
		});
		return target;
	}

	async function ready(): Promise<Running> {
		if (!lock) {
			const taking = (async () => {
				try {
					mkdirSync(dataDir, { recursive: true });
				} catch (error) {
					throw notWritable(dataDir, error);
				}
				return lockFolder(dataDir);
			})();
			lock = taking;
			taking.catch(() => {
				if (lock === taking) lock = null;
			});
		}
		const taken = lock;
		const held = await taken;
		try {
			await held.check();
		} catch (error) {
			if (lock === taken) lock = null;
			if (running?.lock === taken) stop(running, error as Error);
			throw error;
		}
		await checkFreeSpace();
		if (!running) {
			if (ending) {
				// (Worker.terminate() resolves with the exit code; it does not reject.)
				if (!(await settledWithin(ending, END_MS))) {
					throw new StoreUnavailableError(`The embedded store at ${dataDir} is still ending a PGlite that stopped answering; try again later.`, { kind: 'stalled' });
				}
			}
			if (!running) running = start(taken, held);
		}
		const target = running;
		await target.ready;
		return target;
	}

	function send(target: Running, request: WorkerRequest): Promise<CallReply> {
		return new Promise((resolve, reject) => {
			if (target.stopped) return reject(target.stopped);
			// An idle worker's clock starts with its first new call.
			if (target.pending.size === 0) target.lastProgress = Date.now();
			target.pending.set(request.id, { resolve, reject });
			target.worker.postMessage(request);
		});
	}

	const query: Query = async <R>(text: string, values: unknown[] = [], name?: string) => {
		const target = await ready();
		return (await send(target, { id: ++nextId, op: 'query', text, values, name })).rows as R[];
	};

	return {
		query,
		async transaction<T>(work: (q: Query) => Promise<T>): Promise<T> {
			const target = await ready();
			const { tx } = await send(target, { id: ++nextId, op: 'begin' });
			const inTx: Query = async <R>(text: string, values: unknown[] = []) =>
				(await send(target, { id: ++nextId, op: 'query', text, values, tx })).rows as R[];
			let result: T;
			try {
				result = await work(inTx);
			} catch (error) {
				await send(target, { id: ++nextId, op: 'rollback', tx: tx as number }).catch(() => undefined);
				throw error;
			}
			await send(target, { id: ++nextId, op: 'commit', tx: tx as number });
			return result;
		},
		async close() {
			const target = running;
			running = null;
			if (target) {
				const closed = target.isReady ? send(target, { id: ++nextId, op: 'close' }).then(() => undefined) : Promise.resolve();
				await settledWithin(closed, END_MS);
				stop(target, new StoreUnavailableError(`The embedded store at ${dataDir} was closed.`, { kind: 'closed' }));
			}
			if (ending) await ending;
			const held = lock;
			lock = null;
			if (held) (await held.catch(() => null))?.release();
		},
	};
}
