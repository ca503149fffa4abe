// Builders for the parameter shapes the nodes share, so each node's description lists what it
// shows and not how a shape is spelled: the Operation list, the Key Source choice and the explicit
// Key of the Ledger and the Router, numbers with their allowed range (engine/bounds.ts), and
// option lists. Each builds exactly what the editor showed before it existed.

import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { RANGES, typeOptionsOf, type BoundedOption } from '../engine/bounds';

type DisplayOptions = NonNullable<INodeProperties['displayOptions']>;
type Show = NonNullable<DisplayOptions['show']>;

/** The Operation parameter of a node with several operations. */
export function operationProperty(options: INodePropertyOptions[], fallback: string): INodeProperties {
	return { displayName: 'Operation', name: 'operation', type: 'options', noDataExpression: true, options, default: fallback };
}

/** A number parameter named as its range is (RANGES label), limited to that range in the editor. */
export function numberProperty(
	name: BoundedOption,
	fallback: number,
	description: string,
	displayOptions?: DisplayOptions,
): INodeProperties {
	const property: INodeProperties = {
		displayName: RANGES[name].label,
		name,
		type: 'number',
		typeOptions: typeOptionsOf(name),
		default: fallback,
		description,
	};
	if (displayOptions) property.displayOptions = displayOptions;
	return property;
}

/** A yes/no parameter (its description starts with "Whether", as n8n's lint wants). */
export function booleanProperty(
	displayName: string,
	name: string,
	fallback: boolean,
	description: string,
	displayOptions?: DisplayOptions,
): INodeProperties {
	const property: INodeProperties = { displayName, name, type: 'boolean', default: fallback, description };
	if (displayOptions) property.displayOptions = displayOptions;
	return property;
}

/** The Options collection of a node: `options` behind "Add option". */
export function optionsCollection(options: INodeProperties[], displayOptions?: DisplayOptions): INodeProperties {
	const property: INodeProperties = { displayName: 'Options', name: 'options', type: 'collection', placeholder: 'Add option', default: {}, options };
	if (displayOptions) property.displayOptions = displayOptions;
	return property;
}

/** A choice among `options`, e.g. one of the Guard's "On …" options. */
export function choiceProperty(
	displayName: string,
	name: string,
	options: INodePropertyOptions[],
	fallback: string,
	description?: string,
): INodeProperties {
	const property: INodeProperties = { displayName, name, type: 'options', options, default: fallback };
	if (description !== undefined) property.description = description;
	return property;
}

/** Key Source: the Guard's metadata (default) or explicit parameters, with each node's wording. */
export function keySourceProperty(texts: { metadata: string; explicit: string }, show: Show): INodeProperties {
	return {
		displayName: 'Key Source',
		name: 'keySource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'From Guard Metadata', value: 'metadata', description: texts.metadata },
			{ name: 'Explicit', value: 'explicit', description: texts.explicit },
		],
		default: 'metadata',
		displayOptions: { show },
	};
}

const AS_WRITTEN =
	'Used exactly as written (no trimming or normalising); a key longer than 256 characters is hashed as the Guard does.';

/** The explicit Key of a key the Guard stored; `purpose` opens its description. */
export function explicitKeyProperty(
	show: Show,
	purpose = 'The key exactly as the Guard stored it (see _idempotency.key; sha256:… when hashed).',
	required = true,
): INodeProperties {
	const property: INodeProperties = {
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		description: `${purpose} ${AS_WRITTEN}`,
		displayOptions: { show },
	};
	if (required) property.required = true;
	return property;
}
