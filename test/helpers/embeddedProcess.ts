// Starts test/store/fixtures/embeddedProcess.ts — one stand-in n8n process on an embedded store
// folder — and talks to it: commands as JSON lines on its stdin, replies and timer ticks read from
// its stdout. `ownPidNamespace` runs it as the first process of a fresh pid namespace (`unshare`,
// as root), as in a container: two of them have the same pid, as a restarted container reuses its
// predecessor's.

import { spawn, type ChildProcess } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import { createInterface } from 'readline';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'store', 'fixtures', 'embeddedProcess.ts');
const TS_REQUIRE = join(ROOT, 'test', 'helpers', 'tsRequire.js');

export interface Reply {
	id: number;
	ok: boolean;
	outcomes?: Record<string, string>;
	error?: string;
	kind?: string | null;
}

export interface EmbeddedProcess {
	/** Its pid as it sees it (inside its pid namespace). */
	pid: number;
	hostname: string;
	child: ChildProcess;
	/** Timer ticks seen so far, and when the last one came (Date.now()). */
	ticks: () => { count: number; lastAt: number };
	/** Sends a command; rejects when no reply comes within `timeoutMs`. */
	call(command: { op: 'claim'; keys: string[] } | { op: 'switchLog' } | { op: 'close' }, timeoutMs?: number): Promise<Reply>;
	/** SIGKILL, resolved once it has exited. */
	kill(): Promise<void>;
	stderr: () => string;
}

/** The node process unshare forked (its only child), as this process sees its pid. */
function nodePid(unsharePid: number): number {
	return Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim());
}

export function startEmbeddedProcess(options: { dir: string; minFreeBytes?: number; stallMs?: number; openMs?: number }, ownPidNamespace = false): Promise<EmbeddedProcess> {
	const node = [process.execPath, '-r', TS_REQUIRE, FIXTURE, JSON.stringify(options)];
	const child = ownPidNamespace ? spawn('unshare', ['--pid', '--kill-child', ...node], { cwd: ROOT }) : spawn(node[0], node.slice(1), { cwd: ROOT });
	let stderr = '';
	child.stderr?.on('data', (chunk) => (stderr += chunk));
	const waiting = new Map<number, (reply: Reply) => void>();
	let ticks = { count: 0, lastAt: Date.now() };
	let nextId = 0;
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	return new Promise((resolve, reject) => {
		const failed = setTimeout(() => reject(new Error(`The embedded store process did not start: ${stderr}`)), 30_000);
		child.once('exit', (code) => reject(new Error(`The embedded store process exited (${code}) before it started: ${stderr}`)));
		createInterface({ input: child.stdout! }).on('line', (line) => {
			const message = JSON.parse(line) as Reply & { event?: string; pid?: number; hostname?: string };
			if (message.event === 'tick') ticks = { count: ticks.count + 1, lastAt: Date.now() };
			else if (message.event === 'started') {
				clearTimeout(failed);
				resolve({
					pid: message.pid!,
					hostname: message.hostname!,
					child,
					ticks: () => ticks,
					stderr: () => stderr,
					call(command, timeoutMs = 60_000) {
						const id = ++nextId;
						return new Promise<Reply>((done, fail) => {
							const timer = setTimeout(() => {
								waiting.delete(id);
								fail(new Error(`No reply to ${command.op} within ${timeoutMs} ms`));
							}, timeoutMs);
							waiting.set(id, (reply) => {
								clearTimeout(timer);
								done(reply);
							});
							child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
						});
					},
					async kill() {
						// kill -9 of the node process itself; unshare exits once it has reaped it.
						if (child.exitCode === null && child.signalCode === null) process.kill(ownPidNamespace ? nodePid(child.pid!) : child.pid!, 'SIGKILL');
						await exited;
					},
				});
			} else if (message.id !== undefined) waiting.get(message.id)?.(message);
		});
	});
}
