// One process per embedded folder (folderLock.ts), with real processes: each stand-in n8n runs as
// the first process of its own pid namespace, as in a container, so all of them have the same
// pid — a lock that trusted a pid would take a live holder's folder or refuse a dead one's. And,
// in this process, the order in which a holder's statements reach its PGlite worker, and what it
// does with the statements in that worker once its lock is gone. Many processes at once on the lock alone: folderLockRace.test.ts.

import { cpSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createEmbeddedStore } from '../../../nodes/shared/store/embedded/EmbeddedStore';
import { isLockFile } from '../../../nodes/shared/store/embedded/folderLock';
import { workerExecutor } from '../../../nodes/shared/store/embedded/workerExecutor';
import { startEmbeddedProcess, type EmbeddedProcess } from '../../helpers/embeddedProcess';

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const outcomesOf = (reply: { outcomes?: Record<string, string> }) => [...new Set(Object.values(reply.outcomes ?? {}))];

let dir: string;
const started: EmbeddedProcess[] = [];
const start = async (ownPidNamespace = true) => {
	const process = await startEmbeddedProcess({ dir }, ownPidNamespace);
	started.push(process);
	return process;
};

// The database is created once (it takes seconds) and copied for each test.
const template = mkdtempSync(join(tmpdir(), 'idem-embedded-lock-template-'));
beforeAll(async () => {
	const store = createEmbeddedStore(template);
	expect((await store.health()).ok).toBe(true);
	await store.close();
});
afterAll(() => rmSync(template, { recursive: true, force: true }));

beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'idem-embedded-lock-'));
	cpSync(template, dir, { recursive: true });
});
afterEach(async () => {
	await Promise.all(started.splice(0).map((process) => process.kill()));
	rmSync(dir, { recursive: true, force: true });
});

describe('embedded store: one process per folder', () => {
	it('refuses a second process with an error naming the holder and what to do, and the holder keeps working', async () => {
		const first = await start();
		expect(outcomesOf(await first.call({ op: 'claim', keys: keys('a', 100) }))).toEqual(['new']);
		const second = await start();
		// Same pid, as two containers have: the lock cannot be told apart by pid.
		expect(second.pid).toBe(first.pid);
		const refused = await second.call({ op: 'claim', keys: keys('a', 100) }, 20_000);
		expect(refused).toMatchObject({ ok: false, kind: 'folder_in_use' });
		expect(refused.error).toContain(`in use by another n8n: process ${first.pid} on host ${first.hostname}, since 20`);
		expect(refused.error).toContain(dir);
		expect(refused.error).toMatch(/one n8n per embedded store folder/i);
		expect(refused.error).toMatch(/Postgres or Redis/);
		// Asked again, the same answer: nothing was opened by the refused process.
		expect(await second.call({ op: 'claim', keys: ['b'] })).toMatchObject({ ok: false, kind: 'folder_in_use' });
		expect(outcomesOf(await first.call({ op: 'claim', keys: keys('a', 100) }))).toEqual(['duplicate']);
		expect(outcomesOf(await first.call({ op: 'claim', keys: ['b'] }))).toEqual(['new']);
	});

	it('lets the next process in once the holder was killed (kill -9), with every write it acknowledged', async () => {
		const first = await start();
		expect(outcomesOf(await first.call({ op: 'claim', keys: keys('a', 300) }))).toEqual(['new']);
		await first.kill();
		// The dead holder's lock socket is still there; a newcomer with its very pid takes it over.
		const deadLock = readdirSync(dir).filter(isLockFile);
		expect(deadLock).toHaveLength(1);
		const second = await start();
		expect(second.pid).toBe(first.pid);
		expect(outcomesOf(await second.call({ op: 'claim', keys: keys('a', 300) }))).toEqual(['duplicate']);
		expect(outcomesOf(await second.call({ op: 'claim', keys: keys('b', 10) }))).toEqual(['new']);
		// The dead one's socket was deleted; the newcomer's is the only one.
		const lock = readdirSync(dir).filter(isLockFile);
		expect(lock).toHaveLength(1);
		expect(lock).not.toEqual(deadLock);
		// And it holds the folder in turn.
		const third = await start();
		expect(await third.call({ op: 'claim', keys: ['c'] }, 20_000)).toMatchObject({ ok: false, kind: 'folder_in_use' });
	});

	it('does not block on a dead lock whose pid now belongs to another live process, nor steal a live one', async () => {
		const first = await start();
		await first.call({ op: 'claim', keys: ['a'] });
		await first.kill();
		// An unrelated process now has the dead holder's pid (its own namespace, pid 1 too) and
		// keeps running; it must change nothing.
		const unrelated = await start();
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(unrelated.pid).toBe(first.pid);
		// The newcomer is in the root pid namespace: another pid, same folder.
		const second = await start(false);
		expect(outcomesOf(await second.call({ op: 'claim', keys: ['a'] }))).toEqual(['duplicate']);
		// The unrelated process was never told the folder is free: asked now, it is refused.
		expect(await unrelated.call({ op: 'claim', keys: ['b'] }, 20_000)).toMatchObject({ ok: false, kind: 'folder_in_use' });
	});

	it('lets exactly one of several processes started at once on a dead lock open the folder', async () => {
		const first = await start();
		expect(outcomesOf(await first.call({ op: 'claim', keys: keys('a', 50) }))).toEqual(['new']);
		await first.kill();
		const contenders = await Promise.all([start(), start(), start(), start()]);
		const replies = await Promise.all(contenders.map((process) => process.call({ op: 'claim', keys: keys('a', 50) }, 30_000)));
		const opened = replies.filter((reply) => reply.ok);
		expect(opened).toHaveLength(1);
		expect(outcomesOf(opened[0])).toEqual(['duplicate']);
		expect(replies.filter((reply) => !reply.ok).map((reply) => reply.kind)).toEqual(['folder_in_use', 'folder_in_use', 'folder_in_use']);
	});

	it('runs statements sent one after another without waiting in the order they were sent, even when the disk answers its free-space looks out of order', async () => {
		// The disk's free space is looked up before a statement is sent (at most once a second while
		// there is room); here the looks of a burst come back last-asked first, as a busy thread
		// pool may return them. Each statement still reaches the worker in the order it was sent.
		const fsPromises = jest.requireActual<typeof import('fs/promises')>('fs/promises');
		const realStatfs = fsPromises.statfs;
		let asked = 0;
		const statfs = jest.spyOn(fsPromises, 'statfs').mockImplementation((async (path: string) => {
			const delay = Math.max(0, 200 - 20 * asked++);
			const stats = await realStatfs(path);
			await new Promise((resolve) => setTimeout(resolve, delay));
			return stats;
		}) as typeof fsPromises.statfs);
		const executor = workerExecutor({ dataDir: dir });
		try {
			await executor.query('CREATE TABLE ordered (id serial, n int)');
			// The next statement looks at the disk again.
			await new Promise((resolve) => setTimeout(resolve, 1100));
			asked = 0;
			await Promise.all(Array.from({ length: 10 }, (_, n) => executor.query('INSERT INTO ordered (n) VALUES ($1)', [n])));
			expect(statfs).toHaveBeenCalled();
			const rows = await executor.query<{ n: number }>('SELECT n FROM ordered ORDER BY id');
			expect(rows.map((row) => row.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
		} finally {
			statfs.mockRestore();
			await executor.close();
		}
	});

	it('runs none of the statements already sent to its PGlite worker once its lock is gone: each fails with folder_in_use, and the next call takes the folder again', async () => {
		const executor = workerExecutor({ dataDir: dir });
		try {
			await executor.query('CREATE TABLE queued (n int)');
			const sleeping = executor.query('SELECT pg_sleep(2)').then(() => Date.now());
			const queued = Array.from({ length: 10 }, (_, n) =>
				executor.query('INSERT INTO queued VALUES ($1)', [n]).then(
					() => 'ran',
					(error: Error & { kind?: string }) => error.kind,
				),
			);
			// The inserts are in the worker (the n8n thread's checks before each call have passed) and wait
			// behind the sleep; the lock's socket is deleted, as by hand.
			await new Promise((resolve) => setTimeout(resolve, 500));
			const [lockFile] = readdirSync(dir).filter((name) => name.endsWith('.sock'));
			unlinkSync(join(dir, lockFile));
			const lostAt = Date.now();
			// The statement that had started finishes; none of those after it starts.
			expect(await sleeping).toBeGreaterThan(lostAt);
			expect(await Promise.all(queued)).toEqual(Array(10).fill('folder_in_use'));
			// Nobody else has the folder: the next call takes it again (a new worker, after the old one
			// has ended) and finds none of the inserts.
			expect(await executor.query('SELECT count(*)::int AS n FROM queued')).toEqual([{ n: 0 }]);
			expect(readdirSync(dir).filter(isLockFile)).toHaveLength(1);
		} finally {
			await executor.close();
		}
	});
});
