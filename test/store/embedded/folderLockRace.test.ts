// The embedded folder's lock (folderLock.ts) under contention, with real processes and no PGlite
// (test/store/fixtures/folderLockProcess.ts): a holder is killed with kill -9, leaving its lock
// behind, and several processes then try to take the folder at the same instant. Each round, the
// one that took it keeps calling check() — as the store does before every statement — and is the
// next round's dead holder.

import { spawn, type ChildProcess } from 'child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import { createInterface } from 'readline';
import * as ts from 'typescript';
import { isLockFile, lockFolder } from '../../../nodes/shared/store/embedded/folderLock';

const ROOT = join(__dirname, '..', '..', '..');
const FIXTURE = join(ROOT, 'test', 'store', 'fixtures', 'folderLockProcess.ts');

/**
 * The fixture and the modules it imports, compiled once into `out` (same layout): a process then
 * starts in a tenth of the time it takes to load TypeScript, which each round pays for.
 */
function compile(entry: string, out: string, done = new Set<string>()): string {
	const target = join(out, relative(ROOT, entry)).replace(/\.ts$/, '.js');
	if (done.has(entry)) return target;
	done.add(entry);
	const { outputText } = ts.transpileModule(readFileSync(entry, 'utf8'), {
		compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
		fileName: entry,
	});
	mkdirSync(dirname(target), { recursive: true });
	writeFileSync(target, outputText);
	for (const [, path] of outputText.matchAll(/require\("(\.[^"]+)"\)/g)) compile(`${join(dirname(entry), path)}.ts`, out, done);
	return target;
}
const compiled = mkdtempSync(join(tmpdir(), 'idem-lock-race-js-'));
const script = compile(FIXTURE, compiled);
afterAll(() => rmSync(compiled, { recursive: true, force: true }));

interface Taken {
	ok: boolean;
	kind?: string | null;
	error?: string;
	checks?: number;
	/** How long lockFolder took. */
	ms: number;
	lostAfterMs?: number;
}

interface Contender {
	child: ChildProcess;
	/** Tries to take the folder at `at` (Date.now()) and hold it for `holdMs`. */
	take(at: number, holdMs: number): Promise<Taken>;
	kill(): Promise<void>;
}

/** `user`: run it as that user (this process must be root), else as this process's user. */
function startContender(dir: string, user?: { uid: number; gid: number }): Promise<Contender> {
	const child = spawn(process.execPath, [script, dir], { cwd: ROOT, ...user });
	let stderr = '';
	child.stderr?.on('data', (chunk) => (stderr += chunk));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const replies: Array<{ resolve: (reply: Taken) => void; reject: (error: Error) => void }> = [];
	// A process that dies while asked to take the folder fails the question, with why.
	child.once('exit', (code, signal) => {
		for (const reply of replies.splice(0)) reply.reject(new Error(`The lock process exited (${code ?? signal}): ${stderr}`));
	});
	return new Promise((resolve, reject) => {
		child.once('exit', (code) => reject(new Error(`The lock process exited (${code}) before it started: ${stderr}`)));
		createInterface({ input: child.stdout! }).on('line', (line) => {
			const message = JSON.parse(line) as Taken & { event?: string };
			if (message.event === 'started')
				resolve({
					child,
					take(at, holdMs) {
						const reply = new Promise<Taken>((resolve, reject) => {
							replies.push({ resolve, reject });
							child.stdin!.write(`${JSON.stringify({ op: 'take', at, holdMs })}\n`);
						});
						// Killed by afterEach while a failed test still waits: not an unhandled rejection.
						reply.catch(() => undefined);
						return reply;
					},
					async kill() {
						if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
						await exited;
					},
				});
			else replies.shift()?.resolve(message);
		});
	});
}

let dir: string;
const started: Contender[] = [];
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'idem-lock-race-'));
});
afterEach(async () => {
	await Promise.all(started.splice(0).map((contender) => contender.kill()));
	rmSync(dir, { recursive: true, force: true });
});

describe('embedded folder lock under contention', () => {
	it('gives a dead holder’s folder to exactly one of 5 processes starting at once, and never takes it from that one (20 rounds)', async () => {
		const ROUNDS = 20;
		const CONTENDERS = 5;
		const start = async () => {
			const contender = await startContender(dir);
			started.push(contender);
			return contender;
		};
		let pool = await Promise.all(Array.from({ length: CONTENDERS }, start));
		// The first dead holder.
		let dead = [await start()];
		expect((await dead[0].take(Date.now(), 0)).ok).toBe(true);
		const rounds: string[] = [];
		const checks: number[] = [];
		for (let round = 0; round < ROUNDS; round++) {
			await Promise.all(dead.map((holder) => holder.kill()));
			// Started while the round runs, for the next one.
			const fresh = Promise.all(dead.map(start));
			const at = Date.now() + 50;
			const replies = await Promise.all(pool.map((contender) => contender.take(at, 300)));
			const winners = replies.filter((reply) => reply.ok);
			const displaced = winners.filter((winner) => winner.lostAfterMs !== undefined);
			checks.push(...winners.map((winner) => winner.checks ?? 0));
			const refused = [...new Set(replies.filter((reply) => !reply.ok).map((reply) => reply.kind))];
			rounds.push(
				`${winners.length} took it${displaced.map((winner) => `, 1 lost it after ${winner.lostAfterMs} ms: ${winner.error}`).join('')}; refused: ${refused.join(', ')}`,
			);
			// Whoever took it is killed and is the next round's dead holder; fresh processes take their places.
			dead = pool.filter((_, i) => replies[i].ok);
			pool = [...pool.filter((_, i) => !replies[i].ok), ...(await fresh)];
			if (dead.length === 0) break;
		}
		expect(rounds).toEqual(Array.from({ length: ROUNDS }, () => '1 took it; refused: folder_in_use'));
		// Each holder did look, many times, while the others were trying and being refused.
		expect(Math.min(...checks)).toBeGreaterThan(100);
	});

	it('lets a process of another user tell a live holder from a dead one: refused naming the live holder, then takes the folder once that holder was killed', async () => {
		// n8n started once as root on the folder, then as the node user (or the other way round).
		// Connecting to a socket needs write permission on it: with the default mode (0755) the
		// other user could not ask, and was refused for good.
		if (process.getuid?.() !== 0) throw new Error('This test starts a process as another user (nobody), which needs root; CI runs as root.');
		const nobody = { uid: 65534, gid: 65534 };
		// The other user may create its socket in the folder and read the compiled fixture.
		chmodSync(dir, 0o777);
		chmodSync(compiled, 0o755);
		const holder = await startContender(dir);
		const other = await startContender(dir, nobody);
		started.push(holder, other);
		expect(await holder.take(Date.now(), 0)).toMatchObject({ ok: true });
		const refused = await other.take(Date.now(), 0);
		expect(refused).toMatchObject({ ok: false, kind: 'folder_in_use' });
		expect(refused.error).toContain(`process ${holder.child.pid} on host`);
		await holder.kill();
		expect(await other.take(Date.now(), 0)).toMatchObject({ ok: true });
		expect(readdirSync(dir).filter(isLockFile)).toHaveLength(1);
	});

	it('tells a process of another user which lock socket it may not connect to, and takes the folder once that file is deleted', async () => {
		if (process.getuid?.() !== 0) throw new Error('This test starts a process as another user (nobody), which needs root; CI runs as root.');
		// A dead socket of root's that only root may connect to (the default mode, 0755; ours are 0666).
		const legacy = join(dir, 'lock-00000000000000ee.sock');
		const server = createServer();
		await new Promise<void>((resolve) => server.listen(join(dir, 'bound-elsewhere'), resolve));
		renameSync(join(dir, 'bound-elsewhere'), legacy);
		await new Promise((resolve) => server.close(resolve));
		expect(statSync(legacy).mode & 0o777).toBe(0o755);
		chmodSync(dir, 0o777);
		chmodSync(compiled, 0o755);
		const other = await startContender(dir, { uid: 65534, gid: 65534 });
		started.push(other);
		const refused = await other.take(Date.now(), 0);
		expect(refused).toMatchObject({ ok: false, kind: 'folder_in_use' });
		expect(refused.error).toContain(`(its lock ${legacy} belongs to user id 0, and this process may not connect to it to ask whether it still runs (EACCES); if no n8n of that user uses the folder, delete that file)`);
		unlinkSync(legacy);
		expect(await other.take(Date.now(), 0)).toMatchObject({ ok: true });
	});

	it('tells a process of another user that may not write in the folder whose folder it is and what to do', async () => {
		if (process.getuid?.() !== 0) throw new Error('This test starts a process as another user (nobody), which needs root; CI runs as root.');
		// The folder as an n8n run as root leaves it (0755, root's).
		chmodSync(compiled, 0o755);
		const other = await startContender(dir, { uid: 65534, gid: 65534 });
		started.push(other);
		const refused = await other.take(Date.now(), 0);
		expect(refused).toMatchObject({ ok: false });
		expect(refused.error).toBe(`The embedded store's folder ${dir}, owned by user id 0, may not be written by this n8n (user id 65534) (EACCES): an n8n running as another user probably created it.`);
		expect(readdirSync(dir)).toEqual([]);
	});

	it('keeps a holder that was stopped for longer than a taker waits for its answer: the taker is refused, and the holder, resumed, keeps the folder', async () => {
		// A holder's event loop busy (or the process stopped) past the 2 s a taker waits: the taker
		// counts it as the holder and leaves; the holder answers the connection later, once the taker
		// has closed it — and must not die of that (EPIPE).
		const holder = await startContender(dir);
		started.push(holder);
		const holding = holder.take(Date.now(), 6000);
		const refusedBy = (error: Error & { kind?: string }) => ({ kind: error.kind, message: error.message });
		// Its lock socket is in the folder (and it is alone there: it holds the folder a moment later).
		while (!readdirSync(dir).some(isLockFile)) await new Promise((resolve) => setTimeout(resolve, 10));
		await new Promise((resolve) => setTimeout(resolve, 100));
		// It answers while it runs: refused, naming it.
		await expect(lockFolder(dir).catch(refusedBy)).resolves.toMatchObject({ kind: 'folder_in_use', message: expect.stringContaining(`process ${holder.child.pid} on host`) });
		holder.child.kill('SIGSTOP');
		try {
			await expect(lockFolder(dir).catch(refusedBy)).resolves.toMatchObject({ kind: 'folder_in_use', message: expect.stringContaining('(it did not answer in 2 s)') });
		} finally {
			holder.child.kill('SIGCONT');
		}
		const taken = await holding;
		expect(taken).toMatchObject({ ok: true });
		expect(taken.lostAfterMs).toBeUndefined();
		// And it still holds the folder, and says so.
		await expect(lockFolder(dir).catch(refusedBy)).resolves.toMatchObject({ kind: 'folder_in_use', message: expect.stringContaining(`process ${holder.child.pid} on host`) });
	});
});

/**
 * What the embedded store's first call says, in a process of its own, when it may not create or
 * write in `dataDir`: `user` runs it as that user; `readOnly` mounts a read-only tmpfs on `dir`
 * first, in a mount namespace of its own (unshare, as root), so nothing outside sees the mount.
 */
function firstCallError(dataDir: string, options: { user?: { uid: number; gid: number }; readOnly?: string } = {}): Promise<{ name: string; message: string; hint?: string }> {
	const code = `
		const { workerExecutor } = require(${JSON.stringify(join(ROOT, 'nodes', 'shared', 'store', 'embedded', 'workerExecutor.ts'))});
		const executor = workerExecutor({ dataDir: ${JSON.stringify(dataDir)} });
		executor.query('SELECT 1').then(
			() => console.log(JSON.stringify({ name: 'none', message: 'it opened' })),
			(error) => console.log(JSON.stringify({ name: error.name, message: error.message, hint: error.hint })),
		).finally(() => executor.close());`;
	const node = [process.execPath, '-r', join(ROOT, 'test', 'helpers', 'tsRequire.js'), '-e', code];
	const child = options.readOnly
		? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro,size=1m none "$0" && exec "$@"', options.readOnly, ...node], { cwd: ROOT })
		: spawn(node[0], node.slice(1), { cwd: ROOT, ...options.user });
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk) => (stdout += chunk));
	child.stderr.on('data', (chunk) => (stderr += chunk));
	return new Promise((resolve, reject) =>
		child.once('exit', (exit) => {
			try {
				resolve(JSON.parse(stdout));
			} catch {
				reject(new Error(`The process exited (${exit}) without an answer: ${stdout}${stderr}`));
			}
		}),
	);
}

describe('embedded store: a folder this n8n may not write in', () => {
	const nobody = { uid: 65534, gid: 65534 };
	beforeEach(() => {
		if (process.getuid?.() !== 0) throw new Error('These tests run a process as another user (nobody) or mount a filesystem, which needs root; CI runs as root.');
	});

	it('names the folder it would be created in, and its owner, when the store folder does not exist yet (n8n user folder of another user)', async () => {
		// ~/.n8n made by an n8n run as root (0755, root's); this n8n, as another user, is the first with the embedded store.
		chmodSync(dir, 0o755);
		const dataDir = join(dir, 'idempotency');
		const error = await firstCallError(dataDir, { user: nobody });
		expect(error).toEqual({
			name: 'StoreMisconfiguredError',
			message: `The embedded store's folder ${dataDir} does not exist, and this n8n (user id 65534) may not create it in ${dir}, owned by user id 0 (EACCES).`,
			hint: `Create the folder and give it to the user n8n runs as (for example: mkdir -p ${dataDir} && chown -R node:node ${dataDir}), or set N8N_USER_FOLDER to a folder that user may write in; or set Store to Postgres or Redis.`,
		});
	});

	it('does not blame another user for a folder of its own user that its permissions keep it from writing in', async () => {
		chmodSync(dir, 0o555);
		chownSync(dir, nobody.uid, nobody.gid);
		const error = await firstCallError(dir, { user: nobody });
		expect(error).toEqual({
			name: 'StoreMisconfiguredError',
			message: `The embedded store's folder ${dir}, owned by user id 65534, may not be written by this n8n (user id 65534) (EACCES): it is this user's folder, but its permissions or attributes do not let it write there.`,
			hint: `Let its owner write in it (for example: chmod u+rwx ${dir}), or set Store to Postgres or Redis.`,
		});
	});

	it('says the filesystem is read-only when the store folder does not exist yet on a read-only mount', async () => {
		const dataDir = join(dir, '.n8n', 'idempotency');
		const error = await firstCallError(dataDir, { readOnly: dir });
		expect(error).toEqual({
			name: 'StoreMisconfiguredError',
			message: `The embedded store's folder ${dataDir} is on a read-only filesystem (EROFS); the embedded store needs to write there.`,
			hint: 'Mount the n8n user folder writable, or set N8N_USER_FOLDER to a writable folder; or set Store to Postgres or Redis.',
		});
	});
});
