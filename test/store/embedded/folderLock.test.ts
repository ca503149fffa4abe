// The embedded folder's lock (folderLock.ts) within one process, no PGlite: a folder path longer
// than a Unix socket path may be, a holder that finds its lock gone stops, a dead process's socket
// is deleted, a silent one counts as the holder, and takers that meet pause and try again.
// Across real processes and kill -9: embeddedLock.test.ts and folderLockRace.test.ts.

import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, utimesSync } from 'fs';
import { createServer, type Server } from 'net';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import { isLockFile, lockFolder } from '../../../nodes/shared/store/embedded/folderLock';
import { StoreUnavailableError } from '../../../nodes/shared/store/errors';

/** The lock sockets in `folder`. */
const lockFiles = (folder: string) => readdirSync(folder).filter(isLockFile);

/** A lock socket in `dir` that answers each connection with `answer` (null: accepts and says nothing). */
async function fakeLock(answer: object | null): Promise<Server> {
	const server = createServer((socket) => (answer ? socket.end(JSON.stringify(answer)) : undefined));
	await new Promise<void>((resolve) => server.listen(join(dir, 'lock-0123456789abcdef.sock'), resolve));
	servers.push(server);
	return server;
}
const other = { pid: 4242, hostname: 'other-host', since: '2026-01-01T00:00:00.000Z' };

let dir: string;
const servers: Server[] = [];
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'idem-folder-lock-'));
});
afterEach(() => {
	for (const server of servers.splice(0)) server.close();
	rmSync(dir, { recursive: true, force: true });
});

describe('embedded folder lock', () => {
	it('locks a folder whose path is longer than a socket path may be, and names its holder to the next taker', async () => {
		const deep = join(dir, 'a-rather-long-folder-name-for-the-n8n-user-folder', 'and-another-one-below-it', '.n8n', 'idempotency');
		mkdirSync(deep, { recursive: true });
		const held = await lockFolder(deep);
		expect(lockFiles(deep)).toHaveLength(1);
		expect(Buffer.byteLength(join(deep, lockFiles(deep)[0]))).toBeGreaterThan(108);
		const refused = await lockFolder(deep).catch((error) => error);
		expect(refused).toBeInstanceOf(StoreUnavailableError);
		expect(refused).toMatchObject({ kind: 'folder_in_use' });
		expect(refused.message).toContain(`process ${process.pid} on host ${hostname()}, since ${held.holder.since}`);
		// The refused process left nothing behind, nor does the holder once it has released the folder.
		expect(lockFiles(deep)).toHaveLength(1);
		held.release();
		expect(readdirSync(deep)).toEqual([]);
		const next = await lockFolder(deep);
		await expect(next.check()).resolves.toBeUndefined();
		next.release();
	});

	it('stops a holder whose lock file was removed', async () => {
		const held = await lockFolder(dir);
		const [file] = lockFiles(dir);
		unlinkSync(join(dir, file));
		await expect(held.check()).rejects.toThrow(`(its lock ${file} was removed while this process held it)`);
		// Released: asking again gives the same answer, and another taker gets the folder.
		await expect(held.check()).rejects.toMatchObject({ kind: 'folder_in_use' });
		(await lockFolder(dir)).release();
	});

	it('stops a holder whose lock another live process now holds, naming that process', async () => {
		const held = await lockFolder(dir);
		unlinkSync(join(dir, lockFiles(dir)[0]));
		await fakeLock({ ...other, state: 'holding' });
		await expect(held.check()).rejects.toThrow('process 4242 on host other-host, since 2026-01-01T00:00:00.000Z');
		// Its release leaves the other process's lock alone.
		held.release();
		await expect(lockFolder(dir)).rejects.toThrow(/process 4242 on host other-host/);
	});

	it('deletes the socket a killed holder left behind and takes the folder', async () => {
		// What a killed process leaves: a socket file that nothing listens on any more. (A server
		// closed normally deletes the file it was bound to; this one was bound under another name.)
		const server = createServer();
		await new Promise<void>((resolve) => server.listen(join(dir, 'lock-0123456789abcdef.new'), resolve));
		renameSync(join(dir, 'lock-0123456789abcdef.new'), join(dir, 'lock-0123456789abcdef.sock'));
		await new Promise((resolve) => server.close(resolve));
		expect(readdirSync(dir)).toEqual(['lock-0123456789abcdef.sock']);
		const held = await lockFolder(dir);
		expect(lockFiles(dir)).toEqual([held.file?.path.slice(dir.length + 1)]);
		held.release();
	});

	it('deletes the .new socket of a process killed before it published its lock once it is a minute old, and leaves a newer or a live one', async () => {
		/** A socket file named `name` that nothing listens on any more (as a killed process leaves it). */
		const deadSocket = async (name: string) => {
			const server = createServer();
			await new Promise<void>((resolve) => server.listen(join(dir, 'bound-elsewhere'), resolve));
			renameSync(join(dir, 'bound-elsewhere'), join(dir, name));
			await new Promise((resolve) => server.close(resolve));
		};
		const minutesAgo = (name: string, minutes: number) => {
			const when = new Date(Date.now() - minutes * 60_000);
			utimesSync(join(dir, name), when, when);
		};
		await deadSocket('lock-00000000000000aa.new');
		minutesAgo('lock-00000000000000aa.new', 2);
		// Bound a moment ago: it may be about to listen.
		await deadSocket('lock-00000000000000bb.new');
		// Listening for two minutes, not yet published (a process stopped in between): alive.
		const live = createServer();
		await new Promise<void>((resolve) => live.listen(join(dir, 'lock-00000000000000cc.new'), resolve));
		servers.push(live);
		minutesAgo('lock-00000000000000cc.new', 2);
		const held = await lockFolder(dir);
		expect(readdirSync(dir).sort()).toEqual(['lock-00000000000000bb.new', 'lock-00000000000000cc.new', held.file?.path.slice(dir.length + 1)].sort());
		held.release();
	});

	it('counts a socket that accepts the connection but does not answer (a busy holder) as the holder', async () => {
		await fakeLock(null);
		await expect(lockFolder(dir)).rejects.toMatchObject({ kind: 'folder_in_use', message: expect.stringContaining('a process that did not say who it is (it did not answer in 2 s)') });
	});

	it('waits while another process is trying to take the folder, and takes it once that one has given up', async () => {
		const trying = await fakeLock({ ...other, state: 'trying' });
		const taking = lockFolder(dir);
		await new Promise((resolve) => setTimeout(resolve, 150));
		trying.close();
		const held = await taking;
		await expect(held.check()).resolves.toBeUndefined();
		held.release();
	});

	it('gives the folder to exactly one of 5 takers that all publish their sockets before any of them looks (10 rounds)', async () => {
		// In one process the five interleave at each step: each sees the others trying, and all of
		// them pause and try again until one tries alone.
		for (let round = 0; round < 10; round++) {
			const results = await Promise.allSettled(Array.from({ length: 5 }, () => lockFolder(dir)));
			const taken = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
			expect(taken).toHaveLength(1);
			expect(results.flatMap((result) => (result.status === 'rejected' ? [result.reason.kind] : []))).toEqual(Array(4).fill('folder_in_use'));
			await expect(taken[0].check()).resolves.toBeUndefined();
			expect(lockFiles(dir)).toHaveLength(1);
			taken[0].release();
		}
	});

	it('gives up with a clear error when other processes keep trying to take the folder at the same time', async () => {
		await fakeLock({ ...other, state: 'trying' });
		const refused = await lockFolder(dir).catch((error) => error);
		expect(refused).toMatchObject({ kind: 'folder_in_use' });
		expect(refused.message).toContain('in use by another n8n: process 4242 on host other-host, since 2026-01-01T00:00:00.000Z (other processes kept trying to take it at the same time; this one gave up after 8 tries)');
		// It tried with a socket of its own each time, and left none behind.
		expect(lockFiles(dir)).toEqual(['lock-0123456789abcdef.sock']);
	});
});
