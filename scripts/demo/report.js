// What the demo prints: one row per case of the storm, the totals each from its own witness
// (the demo's sender, the fake CRM, the store read back through n8n, the fake Slack), the checks
// that make "one business event = one business write" a yes or no, and the same as one JSON
// line for scripts (`--json`).
'use strict';

function sum(rows, field) {
	return rows.reduce((n, r) => n + r[field], 0);
}

function sameCounts(a, b) {
	const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
	return [...keys].every((k) => (a[k] || 0) === (b[k] || 0));
}

/** Totals and checks from the storm's rows, the fake services and the store's own numbers. */
function summarise({ rows, services, storeReadout, store }) {
	const stats = storeReadout.stats || {};
	const open = storeReadout.openExceptions || [];
	const totals = {
		sent: sum(rows, 'sent'),
		distinctLeads: sum(rows, 'leads'),
		crmWrites: services.crm.writeCount(),
		crmContacts: services.crm.contacts.size,
		answeredCreated: sum(rows, 'created'),
		answeredDuplicate: sum(rows, 'duplicates'),
		answeredNeedsReview: sum(rows, 'needsReview'),
		answeredFailed: sum(rows, 'failed'),
		duplicatesStopped: stats.duplicate ?? null,
		// what the Router stored: one exception per (key, reason) while open, counted per delivery
		ambiguousRouted: open.reduce((n, e) => n + (e.occurrences || 0), 0),
		slackMessages: services.slack.messages.length,
		openExceptions: open.length,
	};
	const checks = [];
	const check = (name, ok, detail) => checks.push({ name, ok: Boolean(ok), detail });

	for (const r of rows) {
		const e = r.expect;
		check(`${r.label}: answers`, sameCounts(r.answers, e.answers) && r.unexpected.length === 0, `got ${JSON.stringify(r.answers)}, want ${JSON.stringify(e.answers)}${r.unexpected.length ? `; e.g. ${r.unexpected[0]}` : ''}`);
		check(`${r.label}: CRM writes`, r.crmWrites === e.crmWrites, `got ${r.crmWrites}, want ${e.crmWrites}`);
		check(`${r.label}: Slack messages`, r.slack === e.slack, `got ${r.slack}, want ${e.slack}`);
		check(`${r.label}: every answer names one contact`, r.contactIds.length <= 1, `contact ids ${r.contactIds.join(', ') || '(none)'}`);
	}
	const first = rows.find((r) => r.id === 'sequential');
	const late = rows.find((r) => r.id === 'late-retry');
	if (first && late) {
		check('the late retry gets the contact id of the first write', late.contactIds[0] && late.contactIds[0] === first.contactIds[0], `${late.contactIds[0]} vs ${first.contactIds[0]}`);
	}
	check('CRM writes = distinct leads', totals.crmWrites === totals.distinctLeads, `${totals.crmWrites} writes for ${totals.distinctLeads} leads`);
	check('duplicates stopped (store) = duplicates answered', totals.duplicatesStopped === totals.answeredDuplicate, `store ${totals.duplicatesStopped}, answered ${totals.answeredDuplicate}`);
	check('ambiguous routed (store) = Slack messages = answered "needs review"', totals.ambiguousRouted === totals.slackMessages && totals.slackMessages === totals.answeredNeedsReview, `store ${totals.ambiguousRouted}, Slack ${totals.slackMessages}, answered ${totals.answeredNeedsReview}`);
	check('processed keys (store) = distinct leads', stats.processed === totals.distinctLeads, `store ${stats.processed}`);
	check('open exceptions (List Open) = Ledger stats', totals.openExceptions === stats.openExceptions, `List Open ${totals.openExceptions}, stats ${stats.openExceptions}`);

	return {
		ok: checks.every((c) => c.ok),
		store: { kind: store.kind, namespace: store.namespace, where: store.where },
		totals,
		stats,
		openExceptions: open.map((e) => ({ id: e.id, key: e.key, reason: e.reason, owner: e.owner, occurrences: e.occurrences, executionUrl: e.executionUrl })),
		crm: {
			writes: totals.crmWrites,
			contacts: [...services.crm.contacts.entries()].map(([key, c]) => ({ key, id: c.id, writes: c.writes })),
		},
		slack: { messages: services.slack.messages.map((m) => ({ reason: m.parsed.reason, owner: m.parsed.owner, exceptionId: m.parsed.exceptionId })) },
		cases: rows.map(({ expect, ...r }) => ({ ...r, expect })),
		checks,
	};
}

function countReasons(exceptions) {
	const out = {};
	for (const e of exceptions) out[e.reason] = (out[e.reason] || 0) + (e.occurrences || 0);
	return out;
}

const pad = (s, n) => String(s).padEnd(n);
const num = (s, n) => String(s ?? '–').padStart(n);

function renderTable(summary) {
	const { totals, stats } = summary;
	const rows = summary.cases;
	const W = 42;
	const head = `  ${pad('What the storm sent', W)}${num('sent', 6)}${num('CRM', 6)}${num('dup', 6)}${num('Slack', 7)}   n8n answered`;
	const line = `  ${'─'.repeat(head.length - 2)}`;
	const answers = (a) => Object.entries(a).map(([s, n]) => `${n}×${s}`).join(' ');
	const out = ['', head, line];
	for (const r of rows) {
		out.push(`  ${pad(r.label, W)}${num(r.sent, 6)}${num(r.crmWrites, 6)}${num(r.duplicates, 6)}${num(r.slack, 7)}   ${answers(r.answers)}`);
	}
	out.push(line);
	out.push(`  ${pad('Total', W)}${num(totals.sent, 6)}${num(totals.crmWrites, 6)}${num(totals.answeredDuplicate, 6)}${num(totals.slackMessages, 7)}`);
	out.push('');
	const byReason = Object.entries(countReasons(summary.openExceptions)).map(([k, v]) => `${v} ${k}`).join(', ');
	const owners = [...new Set(summary.openExceptions.map((e) => e.owner))].join(', ');
	const mark = (ok) => (ok ? '✓' : '✗');
	const crmOk = totals.crmWrites === totals.distinctLeads;
	out.push(`  Deliveries sent      ${num(totals.sent, 4)}   to POST /webhook/lead-intake`);
	out.push(`  Distinct leads       ${num(totals.distinctLeads, 4)}`);
	out.push(`  CRM writes made      ${num(totals.crmWrites, 4)}   counted by the fake CRM (${totals.crmContacts} contacts)   ${mark(crmOk)} one write per lead`);
	out.push(`  Duplicates stopped   ${num(totals.duplicatesStopped, 4)}   Guard decisions in the store; ${totals.answeredDuplicate} answered with the stored contact id`);
	out.push(`  Ambiguous routed     ${num(totals.ambiguousRouted, 4)}   Exception Router${byReason ? ` (${byReason}) → ${owners}` : ''}, ${totals.slackMessages} Slack message(s)`);
	out.push(`  Failed writes        ${num(stats.failed, 4)}   marked failed in the store, then retried as New (${totals.answeredFailed} answered 502)`);
	out.push(`  Open exceptions      ${num(totals.openExceptions, 4)}   Exception Router "List Open" on the store`);
	out.push('');
	out.push(`  State Ledger "Stats" (namespace ${summary.store.namespace}): ${['new', 'duplicate', 'ambiguous', 'processed', 'failed', 'released', 'openExceptions'].map((k) => `${k} ${stats[k] ?? '–'}`).join(' · ')}`);
	if ((stats.ambiguous ?? 0) < totals.ambiguousRouted) {
		out.push('  (its ambiguous count is per key: a delivery without a key is counted by the Router only)');
	}
	out.push('');
	const failed = summary.checks.filter((c) => !c.ok);
	out.push(
		failed.length === 0
			? `  ${mark(true)} all ${summary.checks.length} checks hold: one business event = one business write (store: ${summary.store.kind})`
			: [`  ${mark(false)} ${failed.length} of ${summary.checks.length} checks failed:`, ...failed.map((c) => `     ✗ ${c.name}: ${c.detail}`)].join('\n'),
	);
	out.push('');
	return out.join('\n');
}

module.exports = { summarise, renderTable };
