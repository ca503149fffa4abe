// Release: forget the claim, so the next delivery is New (a safe manual replay).

import type { INodeProperties } from 'n8n-workflow';
import { transitionOperation } from './transitions';

export const description: INodeProperties[] = [];

export const { outputCount, execute } = transitionOperation('release');
