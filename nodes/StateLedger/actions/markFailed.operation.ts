// Mark Failed: the write failed; the Guard retries the key up to Max Attempts.

import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { transitionOperation } from './transitions';

const MAX_ERROR_CHARS = 4000;

export const description: INodeProperties[] = [
	{
		displayName: 'Error Message',
		name: 'errorMessage',
		type: 'string',
		default: '',
		placeholder: '{{ $json.error.message }}',
		description: "Why the write failed. Left empty, the item's error field is used when it has one.",
		displayOptions: { show: { operation: ['markFailed'] } },
	},
];

/**
 * The Error Message parameter, or else the item's own `error` (an error output's item has one).
 * A NUL character — a binary response body quoted in an error — becomes U+FFFD: Postgres text
 * cannot hold it, and a refused Mark Failed would leave the key processing.
 */
function errorMessageOf(given: unknown, item: IDataObject | undefined): string | null {
	const storable = (text: string) => text.slice(0, MAX_ERROR_CHARS).replace(/\u0000/g, '\ufffd');
	const text = String(given ?? '').trim();
	if (text) return storable(text);
	const error = item?.error;
	if (!error) return null;
	if (typeof error === 'string') return storable(error);
	const message = (error as IDataObject).message;
	return storable(typeof message === 'string' ? message : JSON.stringify(error));
}

export const { outputCount, execute } = transitionOperation('markFailed', ({ ctx, parameters, itemIndex }) => ({
	errorMessage: errorMessageOf(parameters.get('errorMessage', itemIndex, ''), ctx.getInputData()[itemIndex]?.json),
}));
