// Report: the numbers an ops lead watches — deliveries, duplicates stopped, retries that then
// succeeded, exceptions opened and resolved, time to resolve, what is open — by hour, day or week,
// for one namespace or every namespace, with a Slack digest ready to post.

import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { boundedNumber } from '../../shared/engine/bounds';
import { reportDigest } from '../../shared/engine/reportDigest';
import { iso } from '../../shared/n8n/actor';
import { choiceProperty, numberProperty } from '../../shared/n8n/descriptions';
import { eachItem } from '../../shared/n8n/items';
import { InvalidInputError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import { REPORT_BUCKETS, type IdempotencyStore, type NamespaceReport, type ReportBucketSize } from '../../shared/store/types';

const show = { show: { operation: ['report'] } };

export const description: INodeProperties[] = [
	numberProperty('sinceDays', 7, 'The window to report on, ending now; it starts at the beginning of the hour, day or week it falls in (UTC)', show),
	{
		...choiceProperty(
			'Group By',
			'bucket',
			[
				{ name: 'Hour', value: 'hour', description: 'One row per UTC hour' },
				{ name: 'Day', value: 'day', description: 'One row per UTC day' },
				{ name: 'Week', value: 'week', description: 'One row per week, Monday to Sunday (UTC)' },
			],
			'day',
			'How the figures are grouped; the Slack digest draws one trend bar per day (per week when grouped by week)',
		),
		displayOptions: show,
	},
];

const DAY_MS = 86_400_000;

/** The report as an item: times as ISO text, and the digest under `slack`. */
function reportItem(report: NamespaceReport, sinceDays: number): IDataObject {
	return {
		namespace: report.namespace,
		since: iso(report.since),
		until: iso(report.until),
		sinceDays,
		bucket: report.bucket,
		total: report.total,
		openExceptions: report.openExceptions,
		oldestOpen: report.oldestOpen && { ...report.oldestOpen, firstSeenAt: iso(report.oldestOpen.firstSeenAt) },
		buckets: report.buckets.map((bucket) => ({ ...bucket, start: iso(bucket.start), end: iso(bucket.end) })),
		slack: reportDigest(report),
	} as unknown as IDataObject;
}

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const out = await eachItem(this, async (i) => {
		const raw = this.getNodeParameter('namespace', i, '');
		// Empty = every namespace of the store, as the Idempotency Trigger reads it.
		const namespace = typeof raw === 'string' && raw.trim() === '' ? null : validateNamespace(raw);
		const sinceDays = boundedNumber('sinceDays', this.getNodeParameter('sinceDays', i, 7), 7, i);
		const bucket = this.getNodeParameter('bucket', i, 'day') as ReportBucketSize;
		if (!(REPORT_BUCKETS as readonly string[]).includes(bucket)) {
			throw new InvalidInputError(`Item ${i}: Group By "${String(bucket)}" is not one of ${REPORT_BUCKETS.join(', ')}`, 'Choose Hour, Day or Week.');
		}
		const report = await store.report({ namespace, sinceMs: Math.round(sinceDays * DAY_MS), bucket });
		return [{ json: reportItem(report, sinceDays), pairedItem: { item: i } }];
	});
	return [out];
}
