// The worker thread the embedded store's PGlite runs in (see workerExecutor.ts): it opens PGlite
// on the data folder it is given and runs the statements the n8n thread sends through the PGlite
// executor (pgliteExecutor.ts), one message per statement. It lives in its own thread so that a
// PGlite that stops answering (it spins after a failed write on a full disk) stops only this
// thread, which the n8n thread can end and replace.
//
// The folder's lock (folderLock.ts) is checked again here, right before each statement or
// transaction starts: statements already sent to the worker when the lock is lost (its socket was
// deleted) do not run. The worker then says so and answers nothing more; the n8n thread ends it
// — it does not close PGlite, whose shutdown would write its files under another process that
// may have the folder by then.

import { lstatSync } from 'fs';
import { parentPort, workerData } from 'worker_threads';
import type { Query } from '../postgres/executor';
import { pgliteExecutor, type OpenedPGlite, type PGliteLike, type PGliteProtocol } from './pgliteExecutor';

/** n8n thread → worker. `tx`: a statement of the transaction `begin` opened. */
export type WorkerRequest =
	| { id: number; op: 'query'; text: string; values: unknown[]; name?: string; tx?: number }
	| { id: number; op: 'begin' }
	| { id: number; op: 'commit' | 'rollback'; tx: number }
	| { id: number; op: 'close' };

/** A database error as plain data (what crosses the thread boundary): message, code and the rest. */
export type WorkerError = { message: string; name: string } & Record<string, string | number | undefined>;

/**
 * Worker → n8n thread: the reply to request `id`; `ready` once PGlite is open (with `error` if it
 * could not open); `lost` when the folder's lock was gone as a statement was to start (no request
 * is answered after it).
 */
export type CallReply = { id: number; rows?: unknown[]; tx?: number; error?: WorkerError };
export type WorkerReply = CallReply | { ready: true; error?: WorkerError } | { lost: true };

export interface WorkerOptions {
	dataDir: string;
	/** The folder lock's socket file and its inode (FolderLock.file); none on Windows. */
	lock?: { path: string; ino: string };
}

class LockLost extends Error {}

function plain(error: unknown): WorkerError {
	const err = error as Error & Record<string, unknown>;
	const out: WorkerError = { message: err?.message ?? String(error), name: err?.name ?? 'Error' };
	for (const [field, value] of Object.entries(err ?? {})) {
		if (typeof value === 'string' || typeof value === 'number') out[field] = value;
	}
	return out;
}

async function main(port: NonNullable<typeof parentPort>, options: WorkerOptions): Promise<void> {
	const { lock } = options;
	let lost = false;
	/** Throws LockLost unless the folder's lock is still this process's (then nothing more runs). */
	const stillHeld = () => {
		if (!lost && lock) {
			try {
				lost = lstatSync(lock.path, { bigint: true }).ino.toString() !== lock.ino;
			} catch {
				lost = true;
			}
			if (lost) port.postMessage({ lost: true } satisfies WorkerReply);
		}
		if (lost) throw new LockLost();
	};
	let opened: OpenedPGlite;
	try {
		// Opening writes too (recovery, the control file): not without the lock either.
		stillHeld();
		const pglite = (await import('@electric-sql/pglite')) as unknown as Partial<PGliteProtocol> & { PGlite: new (dir: string) => PGliteLike };
		const db = new pglite.PGlite(options.dataDir);
		await db.waitReady;
		opened = { db, pglite };
	} catch (error) {
		if (!(error instanceof LockLost)) port.postMessage({ ready: true, error: plain(error) } satisfies WorkerReply);
		return;
	}
	const executor = pgliteExecutor(
		async () => opened,
		() => opened.db.close(),
	);
	// Open transactions: their statements and how each ends.
	const transactions = new Map<number, { query: Query; end: (commit: boolean) => void; done: Promise<unknown> }>();
	let nextTx = 0;
	const reply = (message: WorkerReply) => port.postMessage(message);

	// Statements outside a transaction, transactions and close take turns here (PGlite runs them one
	// at a time anyway; a transaction's turn lasts until it ends), so that the lock is checked at the
	// moment each one starts, not when it arrived and queued.
	let turn: Promise<unknown> = Promise.resolve();
	const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
		const run = turn.then(() => {
			stillHeld();
			return work();
		});
		turn = run.catch(() => undefined);
		return run;
	};

	port.on('message', async (request: WorkerRequest) => {
		try {
			switch (request.op) {
				case 'query': {
					if (request.tx === undefined) {
						reply({ id: request.id, rows: await inTurn(() => executor.query(request.text, request.values, request.name)) });
						break;
					}
					const query = transactions.get(request.tx)?.query;
					if (!query) throw new Error('The transaction has already ended');
					stillHeld();
					reply({ id: request.id, rows: await query(request.text, request.values, request.name) });
					break;
				}
				case 'begin': {
					const tx = ++nextTx;
					// The executor's transaction holds PGlite's transaction lock until it ends, so no
					// other statement runs inside it; its statements come as messages with its id.
					let end!: (commit: boolean) => void;
					const ended = new Promise<boolean>((resolve) => (end = resolve));
					let done!: Promise<unknown>;
					const query = await new Promise<Query>((resolve, reject) => {
						done = inTurn(() =>
							executor.transaction(async (q) => {
								resolve(q);
								if (!(await ended)) throw new Error('rolled back');
							}),
						);
						// Rejects here only when BEGIN itself failed or the lock was gone (afterwards the promise is settled).
						done.catch(reject);
					});
					transactions.set(tx, { query, end, done });
					reply({ id: request.id, tx });
					break;
				}
				case 'commit':
				case 'rollback': {
					const transaction = transactions.get(request.tx);
					if (!transaction) throw new Error('The transaction has already ended');
					// Lost: the transaction stays open, its turn held, until the n8n thread ends the worker.
					stillHeld();
					transactions.delete(request.tx);
					transaction.end(request.op === 'commit');
					if (request.op === 'commit') await transaction.done;
					else await transaction.done.catch(() => undefined);
					reply({ id: request.id });
					break;
				}
				case 'close':
					await inTurn(() => executor.close());
					reply({ id: request.id });
					break;
			}
		} catch (error) {
			if (!(error instanceof LockLost)) reply({ id: request.id, error: plain(error) });
		}
	});
	reply({ ready: true });
}

if (parentPort) void main(parentPort, workerData as WorkerOptions);
