// The embedded folder's lock (folderLock.ts) within one process, no PGlite: a folder path longer
// than a Unix socket path may be, and a holder that finds its lock gone or replaced stops.
// Across real processes and kill -9: embeddedLock.test.ts.

import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'fs';
import { createServer } from 'net';
import { hostname, tmpdir } from 'os';
import { join } from 'path';
import { LOCK_FILE, lockFolder } from '../../../nodes/shared/store/embedded/folderLock';
import { StoreUnavailableError } from '../../../nodes/shared/store/errors';

let dir: string;
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'idem-folder-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('embedded folder lock', () => {
	it('locks a folder whose path is longer than a socket path may be, and names its holder to the next taker', async () => {
		const deep = join(dir, 'a-rather-long-folder-name-for-the-n8n-user-folder', 'and-another-one-below-it', '.n8n', 'idempotency');
		mkdirSync(deep, { recursive: true });
		expect(Buffer.byteLength(join(deep, LOCK_FILE))).toBeGreaterThan(108);
		const held = await lockFolder(deep);
		const refused = await lockFolder(deep).catch((error) => error);
		expect(refused).toBeInstanceOf(StoreUnavailableError);
		expect(refused).toMatchObject({ kind: 'folder_in_use' });
		expect(refused.message).toContain(`process ${process.pid} on host ${hostname()}, since ${held.holder.since}`);
		held.release();
		const next = await lockFolder(deep);
		await expect(next.check()).resolves.toBeUndefined();
		next.release();
	});

	it('stops a holder whose lock file was removed', async () => {
		const held = await lockFolder(dir);
		unlinkSync(join(dir, LOCK_FILE));
		await expect(held.check()).rejects.toThrow(/lock\.sock was removed while this process held it/);
		// Released: asking again gives the same answer, and another taker gets the folder.
		await expect(held.check()).rejects.toMatchObject({ kind: 'folder_in_use' });
		(await lockFolder(dir)).release();
	});

	it('stops a holder whose lock another live process now holds, naming that process', async () => {
		const held = await lockFolder(dir);
		unlinkSync(join(dir, LOCK_FILE));
		const other = { pid: 4242, hostname: 'other-host', since: '2026-01-01T00:00:00.000Z' };
		const server = createServer((socket) => socket.end(JSON.stringify(other)));
		await new Promise<void>((resolve) => server.listen(join(dir, LOCK_FILE), resolve));
		try {
			await expect(held.check()).rejects.toThrow('process 4242 on host other-host, since 2026-01-01T00:00:00.000Z');
			// Its release leaves the other process's lock alone.
			held.release();
			await expect(lockFolder(dir)).rejects.toThrow(/process 4242 on host other-host/);
		} finally {
			server.close();
		}
	});
});
