// A workflow file read into a graph the audit can walk: nodes by name, main connections with their
// output and input numbers, the other connection kinds (ai_tool, ai_languageModel, …), and what is
// wrong with the file. Damaged files are read as far as they go: a connection keyed by a node's id
// is read as that node; one naming a node that does not exist is dropped and stated in `problems`.
//
// Walking follows n8n's run rules: a disabled node passes its input to its first output, and a
// node's outputs are told apart (a Guard's New is output 0, its Duplicate 1, its Ambiguous 2; a
// write's error output comes after its regular one).

import type { IConnections } from 'n8n-workflow';
import type { SavedNode } from './catalog';
import { isStickyNote } from './catalog';

export interface Edge {
	from: string;
	output: number;
	to: string;
	input: number;
}

export interface Graph {
	id?: string;
	name: string;
	nodes: Map<string, SavedNode>;
	/** Main connections by source node. */
	out: Map<string, Edge[]>;
	/** Main connections by target node. */
	in: Map<string, Edge[]>;
	/** Connections of other kinds (ai_tool, ai_languageModel, …) by source: a sub-node → its root. */
	sub: Map<string, Array<{ to: string; type: string }>>;
	/** The connections as read, by node name, for n8n-workflow's graph helpers. */
	connections: IConnections;
	problems: string[];
}

/** Thrown for input that is not a workflow at all (no list of nodes). */
export class NotAWorkflowError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NotAWorkflowError';
	}
}

/** obj[key], created when it is not an own property (never an inherited one such as "constructor"). */
function ownEntry<T>(obj: Record<string, T>, key: string, make: () => T): T {
	if (!Object.prototype.hasOwnProperty.call(obj, key)) Object.defineProperty(obj, key, { value: make(), enumerable: true, writable: true, configurable: true });
	return obj[key];
}

/**
 * Input indexes at or above this are damage, not a node's input (n8n nodes have a handful): read as
 * input 0. n8n-workflow's helpers make an array as long as the highest index — one of 10^15 in a
 * damaged or crafted file ran the audit out of memory.
 */
const MAX_INPUT_INDEX = 1000;

const isObject = (value: unknown): value is Record<string, unknown> =>
	typeof value === 'object' && value !== null && !Array.isArray(value);

function quoteList(names: string[], max = 3): string {
	const shown = names.slice(0, max).map((name) => `“${name}”`).join(', ');
	return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export function readGraph(input: unknown): Graph {
	if (!isObject(input)) throw new NotAWorkflowError('This is not a workflow: expected an object with "nodes" and "connections".');
	if (!Array.isArray(input.nodes))
		throw new NotAWorkflowError('This is not a workflow: it has no "nodes" list (an n8n workflow has "nodes" and "connections").');
	const problems: string[] = [];
	const nodes = new Map<string, SavedNode>();
	const byId = new Map<string, string>();
	let unnamed = 0;
	const repeated: string[] = [];
	for (const raw of input.nodes) {
		if (!isObject(raw) || typeof raw.name !== 'string' || typeof raw.type !== 'string') {
			unnamed++;
			continue;
		}
		const node = raw as unknown as SavedNode;
		if (isStickyNote(node)) continue;
		if (nodes.has(node.name)) {
			repeated.push(node.name);
			continue;
		}
		nodes.set(node.name, node);
		if (typeof node.id === 'string' && node.id) byId.set(node.id, node.name);
	}
	if (unnamed) problems.push(`${unnamed} node(s) without a name or type were skipped.`);
	if (repeated.length) problems.push(`Two nodes share the name ${quoteList(repeated)}; only the first was read.`);

	const out = new Map<string, Edge[]>();
	const into = new Map<string, Edge[]>();
	const sub = new Map<string, Array<{ to: string; type: string }>>();
	const connections: IConnections = {};
	const missing = new Set<string>();
	let byIdCount = 0;
	let badIndexes = 0;
	const resolve = (reference: unknown): string | undefined => {
		if (typeof reference !== 'string') return undefined;
		if (nodes.has(reference)) return reference;
		const named = byId.get(reference);
		if (named !== undefined) {
			byIdCount++;
			return named;
		}
		missing.add(reference);
		return undefined;
	};
	const rawConnections = input.connections;
	if (rawConnections !== undefined && rawConnections !== null && !isObject(rawConnections))
		problems.push('"connections" is not an object; the nodes were audited without connections.');
	else if (rawConnections === undefined || rawConnections === null || Object.keys(rawConnections).length === 0) {
		if (nodes.size > 1) problems.push('The workflow has no connections: each node was audited on its own.');
	}
	for (const [sourceRef, byType] of Object.entries(isObject(rawConnections) ? rawConnections : {})) {
		const from = resolve(sourceRef);
		if (from === undefined || !isObject(byType)) continue;
		for (const [type, outputs] of Object.entries(byType)) {
			if (!Array.isArray(outputs)) continue;
			outputs.forEach((targets, output) => {
				if (!Array.isArray(targets)) return; // an unconnected output saved as null
				for (const target of targets) {
					if (!isObject(target)) continue;
					const to = resolve(target.node);
					if (to === undefined) continue;
					let input = 0;
					if (typeof target.index === 'number') {
						if (Number.isInteger(target.index) && target.index >= 0 && target.index < MAX_INPUT_INDEX) input = target.index;
						else badIndexes++;
					}
					const edgeType = typeof target.type === 'string' ? target.type : type;
					// n8n-workflow's helpers read plain objects: a node named "__proto__" stays out of
					// them (assigning it would change Object.prototype), it is walked from the maps.
					if (from !== '__proto__' && to !== '__proto__') {
						const slot = (ownEntry(ownEntry(connections, from, () => ({})), type, () => []) as unknown[][]);
						while (slot.length <= output) slot.push([]);
						(slot[output] ??= []).push({ node: to, type: edgeType, index: input });
					}
					if (type === 'main') {
						const edge = { from, output, to, input };
						(out.get(from) ?? out.set(from, []).get(from)!).push(edge);
						(into.get(to) ?? into.set(to, []).get(to)!).push(edge);
					} else (sub.get(from) ?? sub.set(from, []).get(from)!).push({ to, type });
				}
			});
		}
	}
	if (badIndexes) problems.push(`${badIndexes} connection end(s) have an input index no node has (negative, fractional or ${MAX_INPUT_INDEX} and above); read as input 0.`);
	if (byIdCount) problems.push(`${byIdCount} connection end(s) name a node by its id instead of its name; read as that node.`);
	if (missing.size)
		problems.push(`Connections name ${missing.size} node(s) that do not exist: ${quoteList([...missing])}. Those connections were ignored.`);

	return {
		id: typeof input.id === 'string' || typeof input.id === 'number' ? String(input.id) : undefined,
		name: typeof input.name === 'string' && input.name.trim() ? input.name : '(unnamed workflow)',
		nodes,
		out,
		in: into,
		sub,
		connections,
		problems,
	};
}

/** The main connections items take out of a node: all outputs, or only the first when the node is
 * disabled (n8n passes a disabled node's input through to its first output). */
export function edgesOut(graph: Graph, name: string): Edge[] {
	const edges = graph.out.get(name) ?? [];
	return graph.nodes.get(name)?.disabled ? edges.filter((edge) => edge.output === 0) : edges;
}

/** Nodes reached from `starts` along main connections, each with the edge it was first reached
 * by (for showing a path); `blocked` edges are not followed. */
export function reach(graph: Graph, starts: Edge[] | string[], blocked: (edge: Edge) => boolean = () => false): Map<string, Edge | null> {
	const seen = new Map<string, Edge | null>();
	const queue: string[] = [];
	for (const start of starts) {
		if (typeof start === 'string') {
			if (!seen.has(start)) seen.set(start, null);
			queue.push(start);
		} else if (!blocked(start) && !seen.has(start.to)) {
			seen.set(start.to, start);
			queue.push(start.to);
		}
	}
	for (let i = 0; i < queue.length; i++) {
		for (const edge of edgesOut(graph, queue[i])) {
			if (seen.has(edge.to) || blocked(edge)) continue;
			seen.set(edge.to, edge);
			queue.push(edge.to);
		}
	}
	return seen;
}

/** The path a `reach` found to `name`, as node names from its start. */
export function pathTo(reached: Map<string, Edge | null>, name: string): string[] {
	const path = [name];
	let edge = reached.get(name);
	while (edge && path.length < 50) {
		path.unshift(edge.from);
		edge = reached.get(edge.from);
	}
	return path;
}
