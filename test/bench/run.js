#!/usr/bin/env node
// `npm run bench`: compiles the benchmark (test/bench/*.ts and the store code it imports) with the
// repo's own TypeScript into a private temporary folder, copies the SQL and Lua the stores load
// from next to their modules (as the gulpfile does for dist/), and runs it. dist/ is left alone,
// so a bench never disturbs a build or a pack in progress. Arguments are passed on (--help).

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

// `npm run bench -- --n8n [options]`: the benchmark in a real n8n instead (test/bench/n8n/run.js).
if (process.argv.includes('--n8n')) {
	const n8nBench = require('child_process').spawnSync(process.execPath, [path.join(__dirname, 'n8n', 'run.js'), ...process.argv.slice(2).filter((a) => a !== '--n8n')], { stdio: 'inherit' });
	process.exit(n8nBench.status ?? 1);
}

const root = path.resolve(__dirname, '..', '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'idem-bench-'));

function copyAssets(from, to) {
	for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
		const source = path.join(from, entry.name);
		const target = path.join(to, entry.name);
		if (entry.isDirectory()) copyAssets(source, target);
		else if (/\.(sql|lua)$/.test(entry.name)) {
			fs.mkdirSync(to, { recursive: true });
			fs.copyFileSync(source, target);
		}
	}
}

function main() {
	const started = Date.now();
	process.stdout.write('Compiling the benchmark… ');
	execFileSync(
		process.execPath,
		[require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', path.join(__dirname, 'tsconfig.json'), '--outDir', out],
		{ cwd: root, stdio: 'inherit' },
	);
	copyAssets(path.join(root, 'nodes'), path.join(out, 'nodes'));
	copyAssets(__dirname, path.join(out, 'test', 'bench'));
	process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

	const child = spawn(process.execPath, ['--expose-gc', path.join(out, 'test', 'bench', 'main.js'), ...process.argv.slice(2)], {
		cwd: root,
		stdio: 'inherit',
		// The compiled files live outside the repo: let them find its node_modules.
		env: { ...process.env, NODE_PATH: path.join(root, 'node_modules'), BENCH_ROOT: root, BENCH_STARTED: String(started) },
	});
	// Ctrl-C reaches the child too (same process group); wait for it to clean up.
	const ignore = () => undefined;
	process.on('SIGINT', ignore);
	process.on('SIGTERM', (signal) => child.kill(signal));
	child.on('exit', (code, signal) => {
		fs.rmSync(out, { recursive: true, force: true });
		process.exitCode = code ?? (signal ? 1 : 0);
	});
}

try {
	main();
} catch (error) {
	fs.rmSync(out, { recursive: true, force: true });
	console.error(error.message);
	process.exitCode = 1;
}
