// Saved workflows keep working across the version-1.1 change of the admin namespaces: n8n saves a
// node without the parameters left at their default, so a version-1 Ledger or Router saved with
// the old default `={{ $workflow.id }}` must load with it again, not with the new empty default
// (its Mark Processed would fail after the write). Checked with n8n-workflow's own loader.

import { NodeHelpers, type INodeTypeDescription } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';

const load = (description: INodeTypeDescription, saved: Record<string, unknown>, typeVersion: number) =>
	NodeHelpers.getNodeParameters(description.properties, saved as never, true, false, { typeVersion }, description);

describe('admin namespaces across node versions', () => {
	const ledger = new StateLedger().description;
	const router = new ExceptionRouter().description;

	it('offers the newest version to new nodes and still knows version 1', () => {
		expect(ledger.version).toEqual([1, 1.1, 2]);
		expect(ledger.defaultVersion).toBe(2);
		expect(router.version).toEqual([1, 1.1]);
		expect(router.defaultVersion).toBe(1.1);
	});

	it.each([
		['Ledger Mark Processed with an explicit key', ledger, { operation: 'markProcessed', keySource: 'explicit', key: '={{ $json.k }}' }],
		['Ledger List', ledger, { operation: 'list' }],
		['Router route with an explicit key', router, { operation: 'route', keySource: 'explicit', key: 'k' }],
		['Router resolve by key', router, { operation: 'resolve', key: 'k', resolution: 'discard' }],
	])('%s saved as version 1 without a namespace loads with this workflow’s namespace', (_what, description, saved) => {
		expect(load(description, saved, 1)?.namespace).toBe('={{ $workflow.id }}');
	});

	it.each([
		['Ledger Mark Processed with an explicit key', ledger, { operation: 'markProcessed', keySource: 'explicit', key: 'k' }],
		['Ledger Mark Processed with an explicit key (version 2)', ledger, { operation: 'markProcessed', keySource: 'explicit', key: 'k' }, 2],
		['Router resolve by key', router, { operation: 'resolve', key: 'k', resolution: 'discard' }],
	])('%s added as version 1.1 or later starts with an empty namespace (to be named)', (_what, description, saved, version = 1.1) => {
		expect(load(description, saved, version)?.namespace).toBe('');
	});
});

// Mark Processed's Result defaulted to `{}` until version 2: it hid the placeholder and, left
// alone, stored an empty object as the write's result. n8n leaves a default-valued parameter out
// of the saved file, so version-1 nodes saved without Result must still read `{}`.
describe('State Ledger Mark Processed Result across node versions', () => {
	const ledger = new StateLedger().description;
	const saved = { operation: 'markProcessed' };

	it.each([1, 1.1])('a version-%s node saved without Result loads it as {}', (version) => {
		expect(load(ledger, saved, version)?.result).toBe('{}');
	});

	it('a version-2 node starts with an empty Result, the example in its placeholder', () => {
		expect(load(ledger, saved, 2)?.result).toBe('');
		const shown = ledger.properties.filter((p) => p.name === 'result' && NodeHelpers.displayParameter(saved as never, p, { typeVersion: 2 } as never, ledger));
		expect(shown).toHaveLength(1);
		expect(shown[0].placeholder).toContain('contactId');
	});

	it('a version-2 node saves a Result that was typed in, and drops one left empty', () => {
		const typed = { ...saved, result: '={{ { contactId: $json.id } }}' };
		expect(NodeHelpers.getNodeParameters(ledger.properties, typed as never, false, false, { typeVersion: 2 }, ledger)?.result).toBe(typed.result);
		expect(NodeHelpers.getNodeParameters(ledger.properties, { ...saved, result: '' } as never, false, false, { typeVersion: 2 }, ledger)).not.toHaveProperty('result');
	});
});
