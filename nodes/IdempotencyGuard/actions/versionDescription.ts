// The Idempotency Guard's parameters (docs/CONTRACT.md §4–5), in the order the editor shows them: the store
// and namespace every node has, then the claim's own (key, fingerprint, options).

import type { INodeProperties } from 'n8n-workflow';
import { namespaceProperty, storeProperty } from '../../shared/n8n/storeParameters';
import * as claim from './claim.operation';

export const guardProperties: INodeProperties[] = [storeProperty, namespaceProperty, ...claim.description];
