// Mark Received: an event arrived before anything is claimed.

import type { INodeProperties } from 'n8n-workflow';
import { transitionOperation } from './transitions';

export const description: INodeProperties[] = [];

export const { outputCount, execute } = transitionOperation('markReceived');
