// Installs this package into an n8n user folder exactly the way n8n installs a community
// package (docs/CONTRACT.md §11): `npm pack` output unpacked into <user>/.n8n/nodes/node_modules/<name>,
// dev/peer/optional dependencies deleted from its package.json, then
// `npm install --ignore-scripts --install-strategy=shallow --package-lock=false` inside it.
// That proves the package works as users receive it: no install scripts, no dev-only imports.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { run, log, onExit } = require('./proc');

const REPO = path.resolve(__dirname, '..', '..', '..');

// Builds and packs a package folder once per harness run; returns the tarball path.
async function packPackage({ packageDir = REPO, build = true } = {}) {
	if (build) {
		log(`building ${packageDir}`);
		await run('npm', ['run', 'build'], { cwd: packageDir, label: 'npm run build' });
	}
	const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-pack-'));
	onExit(() => fs.rmSync(outDir, { recursive: true, force: true }));
	const out = await run('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: packageDir, label: 'npm pack' });
	const info = JSON.parse(out.slice(out.indexOf('[')));
	const tarball = path.join(outDir, info[0].filename);
	log(`packed ${info[0].name}@${info[0].version}: ${info[0].entryCount} files, ${info[0].size} bytes`);
	return { tarball, sourceDir: packageDir, name: info[0].name, version: info[0].version, files: info[0].files.map((f) => f.path) };
}

// What n8n's CommunityPackagesService does after downloading the tarball.
async function installCommunityPackage(userFolder, packed) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const pkgDir = path.join(nodesDir, 'node_modules', packed.name);
	fs.rmSync(pkgDir, { recursive: true, force: true });
	fs.mkdirSync(pkgDir, { recursive: true });
	// npm pack tarballs keep everything under package/
	await run('tar', ['-xzf', packed.tarball, '-C', pkgDir, '--strip-components=1'], { label: 'tar' });

	const pkgJsonPath = path.join(pkgDir, 'package.json');
	const pkg = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8'));
	for (const field of ['devDependencies', 'peerDependencies', 'optionalDependencies']) delete pkg[field];
	fs.writeFileSync(pkgJsonPath, JSON.stringify(pkg, null, 2));

	log(`installing ${packed.name} runtime dependencies the community-package way`);
	await run('npm', ['install', '--ignore-scripts', '--install-strategy=shallow', '--package-lock=false', '--no-audit', '--no-fund', '--loglevel=error'], {
		cwd: pkgDir,
		label: 'community npm install',
	});

	// n8n keeps its own package.json in the nodes folder listing installed packages; it is
	// what `npm install` there (and n8n's reinstall of missing packages) works from.
	const listPath = path.join(nodesDir, 'package.json');
	const list = fs.existsSync(listPath)
		? JSON.parse(fs.readFileSync(listPath, 'utf8'))
		: { name: 'installed-nodes', private: true, dependencies: {} };
	list.dependencies = { ...list.dependencies, [packed.name]: packed.version };
	fs.writeFileSync(listPath, JSON.stringify(list, null, 2));
	return pkgDir;
}

module.exports = { packPackage, installCommunityPackage, REPO };
