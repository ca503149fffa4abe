// Field-path parameters (Key Fields, Fingerprint Fields): comma-separated paths such as
// `body.email, body.source`. They are declared with `requiresDataPath: 'multiple'`, so a field
// dragged from n8n's input panel is written as its path (`body.email`) and appended after a
// comma. A value written as n8n's expression drop writes it — `{{ $json.body.email }}` — names
// the same field: it is read as that path, never evaluated, because its value (a@b.c) is data,
// not a field name. Any other expression is evaluated and its value read as the path list.

import type { IExecuteFunctions } from 'n8n-workflow';
import { parseFieldList } from '../engine/keys';

// `{{ $json.a.b[0]['c d'] }}`: one reference to a field of the current item.
const JSON_REFERENCE = /\{\{\s*\$json((?:\s*\.\s*[A-Za-z_$][\w$]*|\s*\[\s*(?:\d+|'[^']*'|"[^"]*")\s*\])+)\s*\}\}/g;

/**
 * The field path written the way Key Fields reads it, or null when it cannot be: a bracketed
 * name holding `.`, `,`, `[` or `]` (`$json["order.id"]`) would be read as another field.
 */
function pathOf(accessors: string): string | null {
	let path = '';
	for (const match of accessors.matchAll(/\.\s*([A-Za-z_$][\w$]*)|\[\s*(\d+)\s*\]|\[\s*(?:'([^']*)'|"([^"]*)")\s*\]/g)) {
		if (match[2] !== undefined) {
			path += `[${match[2]}]`;
			continue;
		}
		const name = match[1] ?? match[3] ?? match[4];
		if (/[.,[\]]/.test(name) || name.trim() !== name || name === '') return null;
		path += `${path ? '.' : ''}${name}`;
	}
	return path;
}

/**
 * The field paths of an expression made only of `{{ $json.… }}` references (and literal paths
 * between commas), e.g. `={{ $json.email }}, body.source` → ['email', 'body.source']; null when
 * the expression computes something else.
 */
export function pathsFromExpression(raw: string): string[] | null {
	const text = raw.startsWith('=') ? raw.slice(1) : raw;
	let found = false;
	let readable = true;
	const replaced = text.replace(JSON_REFERENCE, (_all, accessors: string) => {
		found = true;
		const path = pathOf(accessors);
		if (path === null) readable = false;
		return path ?? '';
	});
	if (!found || !readable || replaced.includes('{{')) return null;
	return parseFieldList(replaced);
}

/** The comma-separated field paths of parameter `name` (read once, at item 0). */
export function fieldPathsParameter(ctx: IExecuteFunctions, name: string): string[] {
	const raw = ctx.getNode().parameters?.[name];
	if (typeof raw === 'string' && raw.startsWith('=')) {
		const paths = pathsFromExpression(raw);
		if (paths) return paths;
	}
	return parseFieldList(String(ctx.getNodeParameter(name, 0, '') ?? ''));
}
