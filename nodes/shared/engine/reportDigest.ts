// A ready Slack message (Block Kit) for a report (docs/CONTRACT.md §13 "Report"): the window's
// figures, time to resolve, what is open now, and one trend bar per day (per week for a report by
// week) of deliveries with the duplicates stopped among them. Pure.

import type { NamespaceReport, ReportFigures } from '../store/types';
import { clip, escapeMrkdwn, when, type SlackMessage } from './slack';

const DAY_MS = 86_400_000;
const BAR_WIDTH = 20;
/** A section's text holds 3000 characters: 31 lines of trend fit with room to spare. */
const MAX_TREND_LINES = 31;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A duration in words: 45s, 12m, 3h 20m, 2d 4h. */
export function duration(ms: number | null): string {
	if (ms === null) return '–';
	const s = Math.round(ms / 1000);
	if (s < 60) return `${s}s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m}m`;
	const h = Math.floor(m / 60);
	if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
	const d = Math.floor(h / 24);
	return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

function dayLabel(start: number): string {
	const date = new Date(start);
	return `${WEEKDAYS[date.getUTCDay()]} ${String(date.getUTCDate()).padStart(2, '0')} ${MONTHS[date.getUTCMonth()]}`;
}

/** The trend rows: a report by hour is summed per UTC day; by day or week, its buckets. */
function trendRows(report: NamespaceReport): Array<{ start: number; deliveries: number; duplicates: number; exceptionsOpened: number }> {
	const rows = new Map<number, { start: number; deliveries: number; duplicates: number; exceptionsOpened: number }>();
	for (const bucket of report.buckets) {
		const start = report.bucket === 'hour' ? bucket.start - (bucket.start % DAY_MS) : bucket.start;
		const row = rows.get(start) ?? { start, deliveries: 0, duplicates: 0, exceptionsOpened: 0 };
		row.deliveries += bucket.deliveries;
		row.duplicates += bucket.duplicates;
		row.exceptionsOpened += bucket.exceptionsOpened;
		rows.set(start, row);
	}
	return [...rows.values()].slice(-MAX_TREND_LINES);
}

/** One line per row: `Mon 02 Mar  ████▒▒▒▒▒▒  12 in · 4 dup · 1 exc`, bars scaled to the busiest row. */
export function trendLines(report: NamespaceReport): string[] {
	const rows = trendRows(report);
	const most = Math.max(1, ...rows.map((row) => row.deliveries));
	return rows.map((row) => {
		const length = row.deliveries === 0 ? 0 : Math.max(1, Math.round((row.deliveries / most) * BAR_WIDTH));
		const dup = row.deliveries === 0 ? 0 : Math.min(length, Math.round((row.duplicates / row.deliveries) * length));
		const bar = ('█'.repeat(dup) + '▒'.repeat(length - dup)).padEnd(BAR_WIDTH, ' ');
		const label = report.bucket === 'week' ? `wk ${dayLabel(row.start)}` : dayLabel(row.start);
		return `${label}  ${bar}  ${row.deliveries} in · ${row.duplicates} dup · ${row.exceptionsOpened} exc`;
	});
}

function figureFields(total: ReportFigures): string[] {
	return [
		`*Deliveries*\n${total.deliveries} (${total.new} new)`,
		`*Duplicates stopped*\n${total.duplicates}`,
		`*Ambiguous*\n${total.ambiguous}`,
		`*Processed / failed*\n${total.processed} / ${total.failed}`,
		`*Retries that then succeeded*\n${total.retriesSucceeded}`,
		`*Exceptions opened / resolved*\n${total.exceptionsOpened} / ${total.exceptionsResolved}`,
		`*Resolved by*\nperson ${total.resolvedByPerson} · Slack ${total.resolvedFromSlack} · reconcile ${total.resolvedByReconcile}`,
		`*Time to resolve*\nmedian ${duration(total.timeToResolveMedianMs)} · p90 ${duration(total.timeToResolveP90Ms)}`,
	];
}

export function reportDigest(report: NamespaceReport): SlackMessage {
	const where = report.namespace === null ? 'every namespace' : report.namespace;
	const { total } = report;
	const oldest = report.oldestOpen;
	const openText =
		report.openExceptions === 0
			? 'No exception is open.'
			: `${report.openExceptions} open now; the oldest, key ${escapeMrkdwn(clip(oldest?.key ?? '?', 200))} in ${escapeMrkdwn(clip(oldest?.namespace ?? '?', 200))}, for ${duration(oldest ? report.until - oldest.firstSeenAt : null)}.`;
	const text = clip(
		`Idempotency ${when(report.since)} to ${when(report.until)} in ${escapeMrkdwn(where)}: ${total.deliveries} deliveries, ${total.duplicates} duplicates stopped, ` +
			`${total.ambiguous} ambiguous, ${total.retriesSucceeded} retries succeeded, ${total.exceptionsOpened} exceptions opened, ${total.exceptionsResolved} resolved ` +
			`(median ${duration(total.timeToResolveMedianMs)}). ${openText}`,
		3000,
	);
	const blocks: Array<Record<string, unknown>> = [
		{ type: 'header', text: { type: 'plain_text', text: clip(`Idempotency in numbers: ${where}`, 150), emoji: true } },
		{ type: 'context', elements: [{ type: 'mrkdwn', text: `${when(report.since)} – ${when(report.until)} · by ${report.bucket}` }] },
		{ type: 'section', fields: figureFields(total).map((field) => ({ type: 'mrkdwn', text: clip(field, 2000) })) },
		{ type: 'section', text: { type: 'mrkdwn', text: clip(`*Open exceptions:* ${openText}`, 3000) } },
	];
	const lines = trendLines(report);
	if (lines.length > 0) {
		blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Trend* (█ duplicates stopped, ▒ other deliveries)\n\`\`\`\n${lines.join('\n')}\n\`\`\``, 3000) } });
	}
	return { text, blocks };
}
