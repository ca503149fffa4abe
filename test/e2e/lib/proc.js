// Child processes for the end-to-end harness: every long-lived child is started in its own
// process group and remembered, so that a normal exit, a failure, Ctrl-C or SIGTERM kills
// n8n and all that it started. Nothing outlives the harness.
'use strict';

const { spawn } = require('child_process');

const started = Date.now();
const groups = new Set();
const exitHooks = [];

function log(msg) {
	const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
	process.stderr.write(`[e2e ${s}s] ${msg}\n`);
}

// Runs a command to completion; rejects with its output when it fails. `heartbeat` prints a
// line now and then so a slow install is visibly alive.
function run(cmd, args, { cwd, env, label = cmd, heartbeat = 0, timeoutMs = 0, quiet = true } = {}) {
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { cwd, env: env || process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
		groups.add(child.pid);
		let out = '';
		const keep = (chunk) => {
			out += chunk;
			if (out.length > 200_000) out = out.slice(-100_000);
			if (!quiet) process.stderr.write(chunk);
		};
		child.stdout.on('data', keep);
		child.stderr.on('data', keep);
		const t0 = Date.now();
		const beat = heartbeat ? setInterval(() => log(`${label}: still running (${Math.round((Date.now() - t0) / 1000)} s)`), heartbeat) : null;
		const timer = timeoutMs
			? setTimeout(() => {
					killGroup(child.pid, 'SIGKILL');
					out += `\n[killed after ${timeoutMs} ms]`;
				}, timeoutMs)
			: null;
		child.on('error', reject);
		child.on('close', (code, signal) => {
			groups.delete(child.pid);
			if (beat) clearInterval(beat);
			if (timer) clearTimeout(timer);
			if (code === 0) resolve(out);
			else reject(new Error(`${label}: \`${cmd} ${args.join(' ')}\` exited with ${code ?? signal}\n${out.slice(-4000)}`));
		});
	});
}

// Starts a long-lived child in its own process group; its output goes to `logStream`, each
// line prefixed with `[label]` so a test can tell main from worker-0 from worker-1.
function startDaemon(cmd, args, { cwd, env, logStream, label }) {
	const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
	groups.add(child.pid);
	for (const stream of [child.stdout, child.stderr]) {
		let partial = '';
		stream.setEncoding('utf8');
		stream.on('data', (chunk) => {
			const lines = (partial + chunk).split('\n');
			partial = lines.pop();
			if (lines.length) logStream.write(lines.map((l) => `[${label}] ${l}\n`).join(''));
		});
		stream.on('end', () => partial && logStream.write(`[${label}] ${partial}\n`));
	}
	child.exited = new Promise((resolve) =>
		child.on('exit', (code, signal) => {
			groups.delete(child.pid);
			resolve({ code, signal });
		}),
	);
	return child;
}

function killGroup(pid, signal = 'SIGTERM') {
	try {
		process.kill(-pid, signal);
	} catch {
		/* already gone */
	}
}

// Graceful first, then forceful: n8n shuts down cleanly on SIGTERM within a few seconds.
async function stopDaemon(child, graceMs = 10_000) {
	if (!child || child.exitCode !== null || child.signalCode !== null) return;
	killGroup(child.pid, 'SIGTERM');
	const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
	await child.exited;
	clearTimeout(timer);
	killGroup(child.pid, 'SIGKILL'); // grandchildren (task runners) that ignored SIGTERM
}

function killAllNow() {
	for (const pid of groups) killGroup(pid, 'SIGKILL');
	groups.clear();
}

// Synchronous cleanup hooks (e.g. drop a database with psql) that must also run on signals.
function onExit(fn) {
	exitHooks.push(fn);
}

function runExitHooks() {
	while (exitHooks.length) {
		const fn = exitHooks.pop();
		try {
			fn();
		} catch (err) {
			process.stderr.write(`cleanup failed: ${err.message}\n`);
		}
	}
}

process.on('exit', () => {
	killAllNow();
	runExitHooks();
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(sig, () => {
		log(`${sig}: stopping all child processes`);
		killAllNow();
		runExitHooks();
		process.exit(130);
	});
}

module.exports = { run, log, startDaemon, stopDaemon, killGroup, killAllNow, onExit, runExitHooks };
