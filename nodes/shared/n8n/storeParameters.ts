// Parameters every node of this package shares (docs/CONTRACT.md §4). The credential slots are in
// credentialSlots.ts (their names written out in each node class, where n8n's lint rules look).

import type { INodeProperties } from 'n8n-workflow';
import { BACKENDS, STORE_KINDS } from '../store/backends';

export const storeProperty: INodeProperties = {
	displayName: 'Store',
	name: 'store',
	type: 'options',
	noDataExpression: true,
	options: STORE_KINDS.map((kind) => ({ name: BACKENDS[kind].label, value: kind, description: BACKENDS[kind].description })),
	default: 'postgres',
	description: 'Where keys, their state and their history are kept, shared by every execution and worker',
};

export const namespaceProperty: INodeProperties = {
	displayName: 'Namespace',
	name: 'namespace',
	type: 'string',
	default: '={{ $workflow.id }}',
	required: true,
	description:
		'The key space. Defaults to this workflow, so keys of different workflows never meet. Use a shared name (for example crm-leads) to let several workflows guard the same business events.',
};

/**
 * The namespace of an admin operation (Resolve, List, Stats, Purge, an explicit key). No default:
 * these usually run in another workflow than the Guard's, where `$workflow.id` would name a
 * different key space and silently find nothing.
 */
const adminNamespaceProperty: INodeProperties = {
	...namespaceProperty,
	default: '',
	placeholder: 'e.g. crm-leads',
	description:
		"The namespace the Guard used: its Namespace parameter, or the Guard's workflow ID if it kept the default ({{ $workflow.id }} there). No default here, since this often runs in another workflow.",
};

/**
 * The admin namespace for both node versions. n8n saves a workflow without the parameters left at
 * their default, so a version-1 node saved with `={{ $workflow.id }}` must keep that default or it
 * would load with an empty namespace after an upgrade (its Mark Processed would then fail after
 * the write). Version 1 keeps it; nodes added from version 1.1 on start empty.
 */
export function adminNamespaceProperties(
	show: NonNullable<INodeProperties['displayOptions']>['show'],
	overrides: Partial<INodeProperties> = {},
): INodeProperties[] {
	return [
		{
			...namespaceProperty,
			...overrides,
			default: '={{ $workflow.id }}',
			displayOptions: { show: { ...show, '@version': [1] } },
		},
		// From 1.1 on, later versions included (the Ledger's 2).
		{ ...adminNamespaceProperty, ...overrides, displayOptions: { show: { ...show, '@version': [{ _cnd: { gte: 1.1 } }] } } },
	];
}
