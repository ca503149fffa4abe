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

/** The Error Message parameter, or else the item's own `error` (an error output's item has one). */
function errorMessageOf(given: unknown, item: IDataObject | undefined): string | null {
	const text = String(given ?? '').trim();
	if (text) return text.slice(0, MAX_ERROR_CHARS);
	const error = item?.error;
	if (!error) return null;
	if (typeof error === 'string') return error.slice(0, MAX_ERROR_CHARS);
	const message = (error as IDataObject).message;
	return (typeof message === 'string' ? message : JSON.stringify(error)).slice(0, MAX_ERROR_CHARS);
}

export const { outputCount, execute } = transitionOperation('markFailed', ({ ctx, parameters, itemIndex }) => ({
	errorMessage: errorMessageOf(parameters.get('errorMessage', itemIndex, ''), ctx.getInputData()[itemIndex]?.json),
}));
