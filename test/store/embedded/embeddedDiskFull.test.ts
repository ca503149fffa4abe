// A full disk under the embedded store (workerExecutor.ts), on a small filesystem the test mounts
// itself (a tmpfs; root needed — CI runs as root — and a failed mount fails the test, saying why).
// The store runs in a separate stand-in n8n process whose timer ticks the test counts: PGlite
// spins after a failed write to its log, and in n8n's own thread that stops the event loop.

import { execFileSync } from 'child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startEmbeddedProcess, type EmbeddedProcess, type Reply } from '../../helpers/embeddedProcess';

const MB = 1024 * 1024;
const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const outcomesOf = (reply: Reply) => [...new Set(Object.values(reply.outcomes ?? {}))];

let mountPoint = '';
let mounted = false;
let dir: string;
let filler: string;
const started: EmbeddedProcess[] = [];

function unmount(): void {
	if (!mounted) return;
	try {
		execFileSync('umount', [mountPoint], { stdio: 'pipe' });
	} catch {
		// Still busy (a process that has not exited yet): detach it now, the kernel frees it later.
		execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
	}
	mounted = false;
	rmSync(mountPoint, { recursive: true, force: true });
}

beforeAll(() => {
	mountPoint = mkdtempSync(join(tmpdir(), 'idem-disk-full-'));
	try {
		execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128m', 'tmpfs', mountPoint], { stdio: 'pipe' });
	} catch (error) {
		rmSync(mountPoint, { recursive: true, force: true });
		const reason = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
		throw new Error(`This test needs a small filesystem of its own and could not mount one (mount -t tmpfs, which needs root; CI runs as root): ${reason}`);
	}
	mounted = true;
	// Even if Jest is stopped before afterAll.
	process.once('exit', unmount);
	dir = join(mountPoint, 'idempotency');
	filler = join(mountPoint, 'filler');
});
afterAll(async () => {
	await Promise.all(started.splice(0).map((process) => process.kill()));
	unmount();
});

const freeBytes = () => {
	const stats = statfsSync(mountPoint);
	return stats.bavail * stats.bsize;
};

/** Fills the filesystem until `leave` bytes are free (another program filling the disk). */
function fillDisk(leave: number): void {
	const fd = openSync(filler, 'a');
	const block = Buffer.alloc(64 * 1024, 1);
	try {
		while (freeBytes() > leave + block.length) writeSync(fd, block);
	} finally {
		closeSync(fd);
	}
}

async function start(options: { minFreeBytes?: number; stallMs?: number; openMs?: number } = {}): Promise<EmbeddedProcess> {
	const process = await startEmbeddedProcess({ dir, ...options });
	started.push(process);
	return process;
}

/**
 * Sends a command and waits for its reply while watching the process's timer: fails, saying so,
 * when no tick has come for 10 s (its event loop stopped) or no reply within `limitMs`.
 */
async function callWatchingTicks(process: EmbeddedProcess, command: Parameters<EmbeddedProcess['call']>[0], limitMs: number) {
	const before = process.ticks().count;
	const sent = Date.now();
	let watching: NodeJS.Timeout | undefined;
	const stopped = new Promise<never>((_, reject) => {
		watching = setInterval(() => {
			const silent = Date.now() - process.ticks().lastAt;
			if (silent > 10_000) reject(new Error(`The n8n process stopped: no timer tick for ${Math.round(silent / 1000)} s while waiting for ${command.op}`));
		}, 500);
	});
	try {
		const reply = await Promise.race([process.call(command, limitMs), stopped]);
		return { reply, elapsedMs: Date.now() - sent, ticks: process.ticks().count - before };
	} finally {
		clearInterval(watching);
	}
}

describe('embedded store: a full disk never stops n8n', () => {
	afterEach(() => rmSync(filler, { force: true }));

	it('refuses to write while the disk is nearly full, naming the folder and the free space, then works again once space is freed', async () => {
		const n8n = await start();
		expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys('a', 200) }))).toEqual(['new']);
		fillDisk(20 * MB);
		const refused = await callWatchingTicks(n8n, { op: 'claim', keys: keys('b', 50) }, 10_000);
		expect(refused.reply).toMatchObject({ ok: false, kind: 'disk_full' });
		expect(refused.reply.error).toContain(dir);
		expect(refused.reply.error).toMatch(/has (19|20) MB of disk space free, less than the 64 MB/);
		expect(refused.elapsedMs).toBeLessThan(5_000);
		unlinkSync(filler);
		expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys('b', 50) }))).toEqual(['new']);
		// Nothing acknowledged before the disk filled is lost.
		expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys('a', 200) }))).toEqual(['duplicate']);
		await n8n.call({ op: 'close' });
	});

	it('ends a PGlite that hangs on a full disk within the watchdog time, keeps the event loop running, and reopens with every acknowledged write once space is freed', async () => {
		// No free-space floor: as if the disk filled between the check and the write.
		const n8n = await start({ minFreeBytes: 0, stallMs: 3_000, openMs: 10_000 });
		expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys('c', 200) }))).toEqual(['new']);
		fillDisk(3 * MB);
		// PGlite needs a new 16 MB log segment (once the ones it kept for reuse are used up): the
		// write fails, and the next call hangs in PGlite.
		// A switch with nothing written since the last one is a no-op: a claim in between each.
		const written: string[] = [];
		for (let round = 0; ; round++) {
			expect(round).toBeLessThan(10);
			const claimed = await callWatchingTicks(n8n, { op: 'claim', keys: [`w-${round}`] }, 30_000);
			if (!claimed.reply.ok) break;
			written.push(`w-${round}`);
			if (!(await callWatchingTicks(n8n, { op: 'switchLog' }, 30_000)).reply.ok) break;
		}
		const hung = await callWatchingTicks(n8n, { op: 'claim', keys: keys('d', 20) }, 30_000);
		expect(hung.reply).toMatchObject({ ok: false, kind: 'stalled' });
		expect(hung.reply.error).toMatch(new RegExp(`The embedded store at ${dir} stopped answering for 3 s \\([0-9]+ MB free on its disk\\)`));
		// Bounded: the watchdog's 3 s and one check interval, not forever.
		expect(hung.elapsedMs).toBeLessThan(8_000);
		// The event loop kept running the whole time: a tick every 100 ms, give or take a loaded machine.
		expect(hung.ticks).toBeGreaterThanOrEqual(Math.floor(hung.elapsedMs / 100 / 2));
		unlinkSync(filler);
		expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys('d', 20) }))).toEqual(['new']);
		for (const prefix of ['a', 'c']) expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys(prefix, 200) }))).toEqual(['duplicate']);
		expect(outcomesOf(await n8n.call({ op: 'claim', keys: keys('b', 50) }))).toEqual(['duplicate']);
		if (written.length > 0) expect(outcomesOf(await n8n.call({ op: 'claim', keys: written }))).toEqual(['duplicate']);
		await n8n.call({ op: 'close' });
	});
});
