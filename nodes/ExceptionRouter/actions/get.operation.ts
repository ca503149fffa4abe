// Get: one exception by its ID.

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { executionUrlOf, presentException } from '../../shared/n8n/exceptionItem';
import { eachItem } from '../../shared/n8n/items';
import { InvalidInputError } from '../../shared/store/errors';
import type { IdempotencyStore } from '../../shared/store/types';
import { exceptionById } from '../helpers/exceptionId';

export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const out = await eachItem(this, async (i) => {
		const id = String(this.getNodeParameter('exceptionId', i, '') ?? '').trim();
		if (!id) throw new InvalidInputError('Exception ID is empty', "Pass the Router's exception.id.");
		const exception = await exceptionById(store, id);
		return [{ json: presentException(exception, executionUrlOf(this, exception.workflowId, exception.executionId)), pairedItem: { item: i } }];
	});
	return [out];
}
