// Reads node parameters per item at the cost the item warrants. n8n evaluates an expression on
// every getNodeParameter call (a fresh data proxy each time, ~1 ms), so 10k items with the
// default namespace `={{ $workflow.id }}` spend seconds computing one value. Each parameter is
// classified once per execution from its raw text:
//   once  — not an expression, or an expression that reads only $workflow/$vars/$execution/$env
//           through pure string methods: evaluated by n8n for item 0 and reused for every item;
//   path  — exactly `={{ $json.a.b }}` / `={{ $json["a"][0] }}`: read from the item's json, as n8n
//           would, when the path ends on a primitive; anything unusual goes to n8n per item;
//   item  — everything else (and a parameter missing from the raw node): n8n per item, as before.
// $now and $today are per call in n8n and so stay per item. test/unit/parameters.test.ts holds
// a corpus checked against n8n-workflow's own evaluator.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { readPath } from '../engine/keys';

type Plan = { kind: 'once'; value: unknown } | { kind: 'path'; segments: string[] } | { kind: 'item' };

/** Returned by readJsonPath when only n8n's evaluator can say what the path yields. */
export const EVALUATE: unique symbol = Symbol('evaluate with n8n');

// Property names n8n's sandbox refuses (n8n-workflow utils: unsafeObjectProperties) and a margin.
const UNSAFE_NAMES = new Set([
	'__proto__', 'prototype', 'constructor', 'getPrototypeOf', 'setPrototypeOf', 'getOwnPropertyDescriptor',
	'getOwnPropertyDescriptors', 'defineProperty', 'defineProperties', 'mainModule', 'binding', '_linkedBinding',
	'_load', 'prepareStackTrace', '__lookupGetter__', '__lookupSetter__', '__defineGetter__', '__defineSetter__',
	'caller', 'callee', 'arguments', 'getBuiltinModule', 'dlopen', 'execve', 'loadEnvFile', 'customData',
]);
const unsafe = (name: string) => UNSAFE_NAMES.has(name) || name.startsWith('__');

// Values an item cannot change within one execution. $now/$today change per call; customData is
// writable from an expression; $json, $input, $('Node') and the rest are per item.
const ROOTS = new Set(['$workflow', '$vars', '$execution', '$env', 'true', 'false', 'null', 'undefined']);
const PURE_METHODS = new Set([
	'toLowerCase', 'toUpperCase', 'trim', 'trimStart', 'trimEnd', 'toString', 'slice', 'substring', 'padStart',
	'padEnd', 'replace', 'replaceAll', 'concat', 'normalize', 'startsWith', 'endsWith', 'includes', 'split', 'join',
]);

const TOKEN = /\s+|'[^'\\\n]*'|"[^"\\\n]*"|\d+(?:\.\d+)?|[A-Za-z_$][\w$]*|===|!==|==|!=|<=|>=|&&|\|\||\?\?|[-+*/%<>!?:.,()[\]]/y;

function codeIsItemIndependent(code: string): boolean {
	if (code.includes('++') || code.includes('--')) return false;
	const tokens: string[] = [];
	TOKEN.lastIndex = 0;
	while (TOKEN.lastIndex < code.length) {
		const match = TOKEN.exec(code);
		if (!match) return false;
		if (!/^\s/.test(match[0])) tokens.push(match[0]);
	}
	for (let t = 0; t < tokens.length; t++) {
		const token = tokens[t];
		const next = tokens[t + 1];
		const previous = tokens[t - 1];
		if (token === '(' && (previous === ')' || previous === ']')) return false;
		if (!/^[A-Za-z_$]/.test(token)) continue;
		if (previous === '.') {
			if (unsafe(token)) return false;
			if (next === '(' && !PURE_METHODS.has(token)) return false;
		} else if (!ROOTS.has(token) || next === '(') {
			return false;
		}
	}
	return true;
}

/** True when n8n would give every item of one execution the same value for this expression. */
export function isItemIndependent(expression: string): boolean {
	let rest = expression.startsWith('=') ? expression.slice(1) : expression;
	while (rest.length > 0) {
		const open = rest.indexOf('{{');
		const text = open === -1 ? rest : rest.slice(0, open);
		if (text.includes('{') || text.includes('}')) return false;
		if (open === -1) return true;
		const close = rest.indexOf('}}', open + 2);
		if (close === -1) return false;
		const code = rest.slice(open + 2, close);
		if (code.includes('{') || code.includes('}') || !codeIsItemIndependent(code)) return false;
		rest = rest.slice(close + 2);
	}
	return true;
}

const PATH_EXPRESSION = /^=\{\{\s*\$json((?:\.[A-Za-z_$][\w$]*|\[(?:0|[1-9]\d{0,8})\]|\["[^"\\\n]*"\]|\['[^'\\\n]*'\])+)\s*\}\}$/;
const PATH_SEGMENT = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\["([^"]*)"\]|\['([^']*)'\]/g;

/** The segments of a whole-parameter `={{ $json… }}` path, or null when it is anything else. */
export function jsonPathOf(expression: string): string[] | null {
	const match = PATH_EXPRESSION.exec(expression);
	if (!match) return null;
	const segments: string[] = [];
	for (const part of match[1].matchAll(PATH_SEGMENT)) segments.push(part[1] ?? part[2] ?? part[3] ?? part[4]);
	return segments.some(unsafe) ? null : segments;
}

/**
 * What `{{ $json.<segments> }}` gives for this item, when that is plain: a primitive reached through
 * own properties of objects and arrays, or undefined for a property absent from the last object.
 * EVALUATE for the rest (a missing or primitive step on the way, an object or function at the end,
 * a name the prototype also has), which n8n's evaluator answers in its own way.
 */
export function readJsonPath(json: unknown, segments: readonly string[]): unknown {
	let value: unknown = json;
	for (let s = 0; s < segments.length; s++) {
		if (value === null || typeof value !== 'object') return EVALUATE;
		const segment = segments[s];
		// The sandboxed engines (n8n's default) resolve such names on the prototype even when the
		// item has its own property of that name: `$json.toString` is a function there.
		if (segment in Object.prototype || (Array.isArray(value) && segment !== 'length' && segment in Array.prototype)) return EVALUATE;
		if (!Object.prototype.hasOwnProperty.call(value, segment)) {
			return s === segments.length - 1 && !(segment in value) ? undefined : EVALUATE;
		}
		value = (value as Record<string, unknown>)[segment];
	}
	if (value === null || value === undefined) return value;
	const type = typeof value;
	return type === 'string' || type === 'number' || type === 'boolean' ? value : EVALUATE;
}

function isConstant(raw: unknown): boolean {
	if (typeof raw === 'string') return !raw.startsWith('=') || isItemIndependent(raw);
	if (raw === null || typeof raw !== 'object') return true;
	return Object.values(raw as Record<string, unknown>).every(isConstant);
}

/**
 * getNodeParameter(name, itemIndex, fallback) for one execution, classifying each parameter on
 * first use. A "once" value is shared by all items: callers must not mutate it.
 */
export class ParameterReader {
	private readonly plans = new Map<string, Plan>();

	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly items: INodeExecutionData[] = ctx.getInputData(),
	) {}

	get(name: string, itemIndex: number, fallback?: unknown): unknown {
		let plan = this.plans.get(name);
		if (!plan) {
			plan = this.plan(name, fallback);
			this.plans.set(name, plan);
		}
		if (plan.kind === 'once') return plan.value;
		if (plan.kind === 'path') {
			const value = readJsonPath(this.items[itemIndex]?.json, plan.segments);
			if (value !== EVALUATE) return value;
		}
		return this.ctx.getNodeParameter(name, itemIndex, fallback);
	}

	private plan(name: string, fallback: unknown): Plan {
		const raw = readPath(this.ctx.getNode().parameters, name);
		// Missing from the raw node (n8n fills defaults in, so this is a test context): ask n8n per item.
		if (raw === undefined) return { kind: 'item' };
		if (typeof raw === 'string') {
			const segments = jsonPathOf(raw);
			if (segments) return { kind: 'path', segments };
		}
		if (!isConstant(raw)) return { kind: 'item' };
		try {
			return { kind: 'once', value: this.ctx.getNodeParameter(name, 0, fallback) };
		} catch {
			// Let every item meet the error itself, with its own index, as before.
			return { kind: 'item' };
		}
	}
}
