// No import circle in nodes/ — type-only imports and re-exports included: a circle is where a
// layer starts to depend on the layer that uses it (the store contract on its adapters, say), and
// a change to one file then drags the whole circle with it. Reads every import with the TypeScript
// parser and looks for strongly connected files (Tarjan). Also: the engine's reference models are
// imported by tests only.

import { readdirSync, readFileSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';
import * as ts from 'typescript';

const ROOT = resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(path);
		return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
	});
}

/** Every relative module a file names: imports, `import type`, `export … from`, `import()`, `require()`. */
function importsOf(file: string): string[] {
	const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
	const names: string[] = [];
	const visit = (node: ts.Node): void => {
		if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
			names.push(node.moduleSpecifier.text);
		} else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
			const callee = node.expression;
			if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) names.push(node.arguments[0].text);
		} else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
			names.push(node.argument.literal.text);
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return names.filter((name) => name.startsWith('.'));
}

function resolveLocal(from: string, name: string, known: ReadonlySet<string>): string | undefined {
	const base = resolve(dirname(from), name);
	return [`${base}.ts`, join(base, 'index.ts')].find((candidate) => known.has(candidate));
}

/** Each file with the files of the set it imports. */
function importGraph(files: readonly string[]): Map<string, string[]> {
	const known = new Set(files);
	return new Map(files.map((file) => [file, importsOf(file).flatMap((name) => resolveLocal(file, name, known) ?? [])]));
}

/** The import graph's circles: each strongly connected set of more than one file, or a file importing itself. */
function importCircles(files: readonly string[]): string[][] {
	const edges = importGraph(files);
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const circles: string[][] = [];
	let next = 0;
	const connect = (file: string): void => {
		index.set(file, next);
		low.set(file, next++);
		stack.push(file);
		onStack.add(file);
		for (const to of edges.get(file)!) {
			if (!index.has(to)) {
				connect(to);
				low.set(file, Math.min(low.get(file)!, low.get(to)!));
			} else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
		}
		if (low.get(file) !== index.get(file)) return;
		const members: string[] = [];
		let member: string;
		do {
			member = stack.pop()!;
			onStack.delete(member);
			members.push(member);
		} while (member !== file);
		if (members.length > 1 || edges.get(file)!.includes(file)) circles.push(members.map((m) => relative(ROOT, m)).sort());
	};
	for (const file of files) if (!index.has(file)) connect(file);
	return circles;
}

describe('imports in nodes/', () => {
	it('form no circle, type-only imports included', () => {
		expect(importCircles(sourceFiles(join(ROOT, 'nodes')))).toEqual([]);
	});

	it('leave the reference models (engine/model/) to the tests: no shipped code decides with them', () => {
		const model = join(ROOT, 'nodes/shared/engine/model') + '/';
		const users = [...importGraph(sourceFiles(join(ROOT, 'nodes')))]
			.filter(([file, imports]) => !file.startsWith(model) && imports.some((to) => to.startsWith(model)))
			.map(([file]) => relative(ROOT, file));
		expect(users).toEqual([]);
	});

	it('the check finds a circle, also one made of type-only imports', () => {
		// The shape the store contract once had: types.ts → backends.ts (type) → an adapter → types.ts.
		const dir = join(ROOT, 'test/unit/fixtures/importCircle');
		const circles = importCircles(sourceFiles(dir));
		expect(circles).toEqual([['test/unit/fixtures/importCircle/adapter.ts', 'test/unit/fixtures/importCircle/backends.ts', 'test/unit/fixtures/importCircle/types.ts']]);
	});
});
