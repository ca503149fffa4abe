// The example workflows as a user imports them: each carries a sticky note that says what to
// replace before publishing — every placeholder URL it writes to, by the node that holds it —
// and the e2e harness, which swaps those placeholders for its fake services, still imports them
// with the notes left as they are (a sticky note is a node of type n8n-nodes-base.stickyNote). Every
// Router that routes groups by key: one incident, one Slack message, per key (README, Exception Router).

import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareWorkflow } = require('../e2e/lib/workflows.js') as { prepareWorkflow: (wf: unknown, options: object) => Workflow };

interface SavedNode {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, unknown>;
}
interface Workflow {
	nodes: SavedNode[];
}

const dir = join(__dirname, '..', '..', 'examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (file: string): Workflow => JSON.parse(readFileSync(join(dir, file), 'utf8'));
const STICKY = 'n8n-nodes-base.stickyNote';
/** The placeholder hosts the examples write to (test/e2e/lib/workflows.js PLACEHOLDERS). */
const PLACEHOLDER = /https:\/\/(?:[a-z]+\.example\.com|hooks\.slack\.com\/services\/T0{8})[^"\s`]*/g;

describe.each(examples)('example %s', (file) => {
	const wf = load(file);
	const notes = wf.nodes.filter((n) => n.type === STICKY).map((n) => String(n.parameters.content));

	it('has a sticky note that says what to replace before publishing', () => {
		expect(notes.some((text) => /before you publish/i.test(text))).toBe(true);
	});

	it('names in its notes every placeholder URL it uses, and the node that holds it', () => {
		const text = notes.join('\n');
		for (const node of wf.nodes.filter((n) => n.type !== STICKY)) {
			for (const url of JSON.stringify(node.parameters).match(PLACEHOLDER) ?? []) {
				const host = new URL(url).host;
				expect({ node: node.name, host, named: text.includes(host) && text.includes(node.name) }).toEqual({ node: node.name, host, named: true });
			}
		}
	});

	it('says to select the store credential where a node uses a store', () => {
		if (!wf.nodes.some((n) => n.type.startsWith('n8n-nodes-idempotency.') && 'store' in n.parameters)) return;
		expect(notes.join('\n')).toMatch(/Idempotency Store|store credential/i);
	});

	it('keeps one incident per key: every Router that routes groups by key, so a timeout and its redeliveries make one Slack message', () => {
		const routers = wf.nodes.filter((n) => n.type === 'n8n-nodes-idempotency.exceptionRouter' && (n.parameters.operation ?? 'route') === 'route');
		for (const node of routers) {
			expect({ node: node.name, groupBy: (node.parameters.options as { groupBy?: string } | undefined)?.groupBy }).toEqual({ node: node.name, groupBy: 'key' });
		}
	});

	it('is imported by the e2e harness with its notes untouched', () => {
		const prepared = prepareWorkflow(file.replace(/\.json$/, ''), { store: 'redis', pathSuffix: 't', namespaceSuffix: 't' });
		const before = wf.nodes.filter((n) => n.type === STICKY);
		const after = prepared.nodes.filter((n) => n.type === STICKY);
		expect(after).toHaveLength(before.length);
		for (const [n, note] of after.entries()) {
			expect(note.credentials).toBeUndefined();
			expect(note.parameters).not.toHaveProperty('store');
			expect(note.parameters.content).toBe(before[n].parameters.content);
		}
	});
});
