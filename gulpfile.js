// Copies what tsc does not: node icons and codex files, and the SQL and Lua scripts the stores
// load at run time from next to their compiled modules.
const { src, dest, parallel } = require('gulp');

function copyIcons() {
	return src(['nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], { base: '.', encoding: false }).pipe(dest('dist'));
}

function copyScripts() {
	return src(['nodes/**/*.sql', 'nodes/**/*.lua', 'nodes/**/*.node.json'], { base: '.' }).pipe(dest('dist'));
}

exports.build = parallel(copyIcons, copyScripts);
exports.default = exports.build;
