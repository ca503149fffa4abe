// What survives when a user switches the Exception Router's Operation in n8n's editor (Route →
// Resolve → Route). The editor rebuilds a node's parameters on every change the way this test
// does with n8n-workflow's own NodeHelpers (editor-ui useNodeSettingsParameters
// updateNodeParameter): getNodeParameters(…, returnDefaults false) keeps only what differs from
// the defaults *and is shown*, the change is applied, then getNodeParameters(…, returnDefaults
// true) fills in the new defaults. Rules are shown only for Route, so the switch drops them, and
// the outputs built from them go with them. The Router therefore warns under Operation while it
// is on Route (versionDescription.ts operationSwitchNotice).

import { NodeHelpers, type INodeParameters } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { configuredOutputs, operationSwitchNotice } from '../../nodes/ExceptionRouter/actions/versionDescription';

const router = new ExceptionRouter().description;
const node = { typeVersion: 1.1 };

/** One parameter change as n8n's editor applies it. */
function change(parameters: INodeParameters, name: string, value: string): INodeParameters {
	const kept = NodeHelpers.getNodeParameters(router.properties, parameters, false, false, node, router) ?? {};
	return NodeHelpers.getNodeParameters(router.properties, { ...kept, [name]: value }, true, false, node, router) ?? {};
}

const routeWithRules: INodeParameters = NodeHelpers.getNodeParameters(
	router.properties,
	{
		operation: 'route',
		fallbackOwner: '@revops',
		rules: { rule: [{ outputName: 'Finance', reasons: ['payload_mismatch'], owner: '@finance' }, { outputName: 'Stale', reasons: ['lease_expired'], owner: '@ops' }] },
	},
	true,
	false,
	node,
	router,
)!;
const outputNames = (parameters: INodeParameters) => configuredOutputs(parameters).map((o) => o.displayName ?? o.type);

describe('switching the Router\'s Operation in the editor', () => {
	it('Route → Resolve → Route loses the rules and the outputs built from them', () => {
		expect(outputNames(routeWithRules)).toEqual(['Finance', 'Stale', 'Unrouted']);
		const resolve = change(routeWithRules, 'operation', 'resolve');
		expect(resolve).not.toHaveProperty('rules');
		expect(resolve).not.toHaveProperty('fallbackOwner');
		const back = change(resolve, 'operation', 'route');
		expect(back.rules).toEqual({});
		expect(back.fallbackOwner).toBe('');
		expect(outputNames(back)).toEqual(['Unrouted']);
	});

	it('warns under Operation on Route, before anything is lost', () => {
		const shown = (parameters: INodeParameters) => NodeHelpers.displayParameter(parameters, operationSwitchNotice, node, router);
		expect(shown(routeWithRules)).toBe(true);
		expect(shown({ ...routeWithRules, rules: {} })).toBe(true);
		expect(shown({ ...routeWithRules, operation: 'resolve' })).toBe(false);
		const names = router.properties.map((p) => p.name);
		expect(names.indexOf('operationSwitchNotice')).toBe(names.indexOf('operation') + 1);
	});

	it('the notice itself is never saved (a notice has no value of its own)', () => {
		const kept = NodeHelpers.getNodeParameters(router.properties, routeWithRules, false, false, node, router);
		expect(kept).not.toHaveProperty('operationSwitchNotice');
		expect(kept).toHaveProperty('rules');
	});
});
