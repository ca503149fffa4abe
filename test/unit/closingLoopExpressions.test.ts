// The expressions the closing-the-loop examples and Reconcile's defaults rely on, evaluated by
// n8n's own expression engines: the example's Slack URL that posts only to hooks.slack.com, a
// Found expression giving a boolean through a string parameter, and Looked Up At's $now default.

import { readFileSync } from 'fs';
import { join } from 'path';
import type { INodeProperties } from 'n8n-workflow';
import { ENGINES, realNode, stopEngine, useEngine } from '../helpers/n8nEvaluator';

const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'resolve-from-slack.json'), 'utf8')) as {
	nodes: Array<{ name: string; parameters: Record<string, unknown> }>;
};
const SLACK_URL = example.nodes.find((n) => n.name === 'Update the Slack message')!.parameters.url as string;
const PROPERTIES: INodeProperties[] = ['url', 'found', 'lookedUpAt'].map((name) => ({ displayName: name, name, type: 'string', default: '' }));

describe.each(ENGINES)('closing-the-loop expressions on the %s engine', (engine) => {
	beforeAll(async () => useEngine(engine), 30_000);
	afterAll(async () => stopEngine());

	it('posts the Slack update only to hooks.slack.com, whatever response_url says', async () => {
		const items = [
			{ json: { slack: { response_url: 'https://hooks.slack.com/actions/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN' } } },
			{ json: { slack: { response_url: 'https://evil.example.com/actions/x' } } },
		];
		const real = realNode({ parameters: { url: SLACK_URL }, properties: PROPERTIES, items });
		await real.acquire();
		try {
			expect(real.getNodeParameter('url', 0)).toBe('https://hooks.slack.com/actions/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN');
			expect(real.getNodeParameter('url', 1)).toBe('https://hooks.slack.comhttps://evil.example.com/actions/x');
		} finally {
			await real.release();
		}
	});

	it("gives Reconcile's Found as a boolean and Looked Up At's default as an ISO time", async () => {
		const items = [{ json: { total: 1 } }, { json: { total: 0 } }];
		const real = realNode({ parameters: { found: '={{ $json.total > 0 }}', lookedUpAt: '={{ $now.toISO() }}' }, properties: PROPERTIES, items });
		await real.acquire();
		try {
			expect([real.getNodeParameter('found', 0), real.getNodeParameter('found', 1)]).toEqual([true, false]);
			const at = Date.parse(String(real.getNodeParameter('lookedUpAt', 0)));
			expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
		} finally {
			await real.release();
		}
	});
});
