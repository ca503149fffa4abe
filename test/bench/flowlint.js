#!/usr/bin/env node
// FlowLint (@replikanti/flowlint-core) over the same workflow files as the audit bench, for the
// side-by-side figures of BENCHMARKS.md: how many files it could parse, how many idempotency
// (R3) findings it made, and how long it took. Runs under Node >= 24.12 (FlowLint's engines),
// with FlowLint from a cache folder outside the repo: `node flowlint.js <flowlint dir> <folder>…`.
// Prints one JSON line.
'use strict';

const fs = require('fs');
const path = require('path');

const [flowlintDir, ...folders] = process.argv.slice(2);
const flowlint = require(require.resolve('@replikanti/flowlint-core', { paths: [flowlintDir] }));

function jsonFiles(dir) {
	const out = [];
	for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
		if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
		const p = path.join(dir, entry.name);
		if (entry.isDirectory()) out.push(...jsonFiles(p));
		else if (entry.name.toLowerCase().endsWith('.json')) out.push(p);
	}
	return out;
}

// Why FlowLint refused a file, in a few words that group alike refusals: its schema validation's
// first complaint with the node names and indexes taken out of the path, or "not JSON".
function refusal(error) {
	const first = error && Array.isArray(error.errors) ? error.errors[0] : undefined;
	if (first) {
		const parts = String(first.path || '').split('/').filter(Boolean);
		const where = parts.map((part, i) => (/^\d+$/.test(part) ? '[]' : parts[i - 1] === 'connections' ? '<node>' : part)).join('.').replace(/\.\[\]/g, '[]');
		return `${where || 'workflow'}: ${first.message}`.replace(/"[^"]*"/g, '<node>');
	}
	if (error && error.linePos) return 'not JSON (its YAML parser failed)';
	return String(error && error.message ? error.message : error).split('\n')[0].slice(0, 80);
}

const result = [];
for (const folder of folders) {
	const files = jsonFiles(folder);
	const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
	const t0 = process.hrtime.bigint();
	let parsed = 0;
	let r3 = 0;
	let r3Files = 0;
	let findings = 0;
	const refusals = {};
	texts.forEach((text, i) => {
		let graph;
		try {
			graph = flowlint.parseN8n(text);
		} catch (error) {
			const reason = refusal(error);
			refusals[reason] = (refusals[reason] || 0) + 1;
			return;
		}
		parsed++;
		try {
			const found = flowlint.runAllRules(graph, { path: files[i], cfg: flowlint.defaultConfig });
			findings += found.length;
			const idempotency = found.filter((f) => f.rule === 'R3').length;
			r3 += idempotency;
			if (idempotency) r3Files++;
		} catch (error) {
			const reason = `rules threw: ${String(error && error.message ? error.message : error).split('\n')[0].slice(0, 70)}`;
			refusals[reason] = (refusals[reason] || 0) + 1;
		}
	});
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	result.push({ folder, files: files.length, parsed, r3, r3Files, findings, ms, refusals });
}
process.stdout.write(`${JSON.stringify({ node: process.version, results: result })}\n`);
