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

	it('offers version 1.1 to new nodes and still knows version 1', () => {
		expect(ledger.version).toEqual([1, 1.1]);
		expect(ledger.defaultVersion).toBe(1.1);
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
		['Router resolve by key', router, { operation: 'resolve', key: 'k', resolution: 'discard' }],
	])('%s added as version 1.1 starts with an empty namespace (to be named)', (_what, description, saved) => {
		expect(load(description, saved, 1.1)?.namespace).toBe('');
	});
});
