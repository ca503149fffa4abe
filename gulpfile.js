// Copies what tsc does not: node icons and codex files, and the SQL and Lua scripts the stores
// load at run time from next to their compiled modules; makes the command (package.json `bin`)
// executable, as tsc writes it without the x bit.
const fs = require('fs');
const { src, dest, parallel } = require('gulp');
const { bin } = require('./package.json');

function copyIcons() {
	return src(['nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], { base: '.', encoding: false }).pipe(dest('dist'));
}

function copyScripts() {
	return src(['nodes/**/*.sql', 'nodes/**/*.lua', 'nodes/**/*.node.json'], { base: '.' }).pipe(dest('dist'));
}

async function makeBinExecutable() {
	for (const file of Object.values(bin)) fs.chmodSync(file, 0o755);
}

exports.build = parallel(copyIcons, copyScripts, makeBinExecutable);
exports.default = exports.build;
