// `npm run demo -- --once` as a user runs it (a child process, on the embedded store, with
// neither POSTGRES_URL nor REDIS_URL): it must exit 0, and the table it prints must be what
// its fake CRM, fake Slack and the store really saw — the demo's JSON line carries those raw
// counts. Where strace exists, the run is also watched for any connection to Postgres (5432)
// or Redis (6379): the zero-setup store needs neither.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const assert = require('assert/strict');
const { spawn, execFileSync } = require('child_process');
const { ensureToolchain } = require('../lib/toolchain');
const { killGroup } = require('../lib/proc');
const { REPO } = require('../lib/community-install');

let installing = null;
const toolchain = () => (installing ||= ensureToolchain({ sqlite: true }));

function hasStrace() {
	try {
		execFileSync('strace', ['-V'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

// Runs the demo to its end; resolves with its exit code, stdout and stderr.
function runDemo(ctx, { tarball, traceFile }) {
	const env = { ...process.env };
	for (const name of ['POSTGRES_URL', 'REDIS_URL', 'DEMO_STORE']) delete env[name];
	const demo = ['npm', 'run', 'demo', '--', '--once', '--json', '--port=0', `--tarball=${tarball}`];
	// --seccomp-bpf: only connect() stops the traced processes, so n8n runs at full speed
	const [cmd, ...args] = traceFile ? ['strace', '-f', '--seccomp-bpf', '-e', 'trace=connect', '-o', traceFile, ...demo] : demo;
	return new Promise((resolve, reject) => {
		const child = spawn(cmd, args, { cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
		// SIGTERM first: the demo then stops the n8n it started (in n8n's own process group)
		const stop = () => {
			killGroup(child.pid, 'SIGTERM');
			setTimeout(() => killGroup(child.pid, 'SIGKILL'), 20_000).unref();
		};
		ctx.onCleanup(stop);
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (c) => (stdout += c));
		child.stderr.on('data', (c) => (stderr += c));
		const timer = setTimeout(stop, 10 * 60_000);
		child.on('error', reject);
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			resolve({ code: code ?? signal, stdout, stderr });
		});
	});
}

// The numbers a person reads in the printed table.
function readTable(stdout) {
	const number = (label) => {
		const m = stdout.match(new RegExp(`^\\s+${label}\\s+(\\d+)\\b`, 'm'));
		return m ? Number(m[1]) : null;
	};
	const total = stdout.match(/^\s+Total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/m);
	return {
		sent: number('Deliveries sent'),
		distinctLeads: number('Distinct leads'),
		crmWrites: number('CRM writes made'),
		duplicatesStopped: number('Duplicates stopped'),
		ambiguousRouted: number('Ambiguous routed'),
		openExceptions: number('Open exceptions'),
		totalRow: total ? { sent: Number(total[1]), crm: Number(total[2]), dup: Number(total[3]), slack: Number(total[4]) } : null,
	};
}

module.exports = {
	name: 'demo',
	order: 90,
	toolchain, // Node 24, n8n and the sqlite3 add-on, installed up front on a cold cache
	async run(ctx) {
		await toolchain();
		const traceDir = hasStrace() ? fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-demo-trace-')) : null;
		if (traceDir) ctx.onCleanup(() => fs.rmSync(traceDir, { recursive: true, force: true }));
		else ctx.log('strace is not installed: the demo runs without the connection watch');
		const traceFile = traceDir && path.join(traceDir, 'connect.trace');

		const t0 = Date.now();
		const run = await runDemo(ctx, { tarball: ctx.packed.tarball, traceFile });
		ctx.log(`npm run demo -- --once took ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${run.code}`);
		const lastLine = run.stdout.trim().split('\n').pop() || '';
		let result = null;
		try {
			result = JSON.parse(lastLine);
		} catch {
			/* asserted below, with the demo's own output */
		}
		const table = readTable(run.stdout);
		const output = () => `\n--- stdout\n${run.stdout.slice(-4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;

		await ctx.test('npm run demo -- --once exits 0, every check holding, on the embedded store', () => {
			assert.ok(result, `no JSON result line at the end of stdout${output()}`);
			assert.equal(run.code, 0, `exit code${output()}`);
			assert.equal(result.ok, true, `failed checks: ${JSON.stringify(result.checks.filter((c) => !c.ok))}`);
			assert.equal(result.store.kind, 'embedded');
		});
		if (!result) return;

		await ctx.test('the printed CRM writes are what the fake CRM received: one write per distinct lead', () => {
			const received = result.crm.contacts.reduce((n, c) => n + c.writes, 0);
			assert.equal(table.crmWrites, received, 'table vs fake CRM');
			assert.equal(result.crm.writes, received);
			assert.equal(table.distinctLeads, result.totals.distinctLeads);
			assert.equal(received, result.totals.distinctLeads, 'CRM writes vs distinct leads');
			assert.equal(table.totalRow?.crm, received, 'the Total row');
			assert.equal(result.cases.reduce((n, c) => n + c.crmWrites, 0), received, 'the rows add up to the CRM writes');
		});

		await ctx.test('the printed deliveries, duplicates, ambiguous and open exceptions are the sender’s, the store’s and Slack’s', () => {
			assert.equal(table.sent, result.cases.reduce((n, c) => n + c.sent, 0), 'deliveries sent');
			assert.equal(table.totalRow?.sent, table.sent);
			assert.equal(table.duplicatesStopped, result.stats.duplicate, 'duplicates stopped vs Ledger stats');
			assert.equal(table.totalRow?.dup, table.duplicatesStopped, 'duplicates answered vs stopped');
			assert.equal(table.ambiguousRouted, result.slack.messages.length, 'ambiguous routed vs fake Slack');
			assert.equal(table.totalRow?.slack, result.slack.messages.length);
			assert.equal(table.openExceptions, result.openExceptions.length, 'open exceptions vs Router List Open');
			assert.equal(table.openExceptions, result.stats.openExceptions, 'open exceptions vs Ledger stats');
			assert.deepEqual(
				result.slack.messages.map((m) => m.exceptionId).sort(),
				result.openExceptions.map((e) => e.id).sort(),
				'every Slack message names an open exception',
			);
		});

		if (traceFile) {
			await ctx.test('with neither POSTGRES_URL nor REDIS_URL, nothing connects to port 5432 or 6379', () => {
				const trace = fs.readFileSync(traceFile, 'utf8');
				const connects = trace.split('\n').filter((l) => l.includes('connect('));
				assert.ok(connects.some((l) => /AF_INET6?/.test(l)), 'the trace saw no TCP connect at all: strace did not watch the demo');
				const toStores = connects.filter((l) => /htons\((5432|6379)\)/.test(l));
				assert.deepEqual(toStores, [], 'connections to Postgres or Redis');
			});
		}
	},
};
