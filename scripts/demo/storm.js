// The storm of deliveries the demo fires at the lead-intake webhook, case by case, the way
// form tools and webhook senders really misbehave. Each case records what was sent, how n8n
// answered, and what the fake CRM and Slack received meanwhile; `expect` is what one business
// event = one business write means for that case.
'use strict';

async function deliver(url, body) {
	const res = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(90_000),
	});
	const text = await res.text();
	let json = null;
	try {
		json = JSON.parse(text);
	} catch {
		/* not JSON: kept as text */
	}
	return { status: res.status, json, text };
}

const times = (n, body) => Array.from({ length: n }, () => body);

function leads(runId) {
	const ada = {
		// spaces and capitals on purpose: the Guard normalises the key, the CRM sees one person
		email: '  Ada.Lovelace@Example.COM ',
		name: 'Ada Lovelace',
		source: 'website-form',
		submissionId: `sub-${runId}-1`,
	};
	return {
		ada,
		grace: { email: 'grace.hopper@example.com', name: 'Grace Hopper', source: 'webinar', submissionId: `sub-${runId}-2` },
		adaEdited: { ...ada, name: 'Ada King, Countess of Lovelace', submissionId: `sub-${runId}-3` },
		katherine: { email: 'katherine.johnson@example.com', name: 'Katherine Johnson', source: 'partner-referral', submissionId: `sub-${runId}-4` },
		noEmail: { email: '   ', name: 'Someone', source: 'website-form', submissionId: `sub-${runId}-5` },
	};
}

/**
 * The cases, in order. `send(deliver)` returns the responses; `expect` counts the answers by
 * HTTP status (201 created, 200 duplicate, 202 needs review, 502 write failed) and the CRM
 * writes and Slack messages the case may cause.
 */
function cases(runId, services) {
	const l = leads(runId);
	const seq = async (post, bodies) => {
		const out = [];
		for (const b of bodies) out.push(await post(b));
		return out;
	};
	const all = (post, bodies) => Promise.all(bodies.map((b) => post(b)));
	return [
		{
			id: 'sequential',
			label: 'Lead 1: sender retries 10× in a row',
			leads: [l.ada],
			send: (post) => seq(post, times(10, l.ada)),
			expect: { answers: { 201: 1, 200: 9 }, crmWrites: 1, slack: 0 },
		},
		{
			id: 'concurrent',
			label: 'Lead 2: 25 copies at the same moment',
			leads: [l.grace],
			send: (post) => all(post, times(25, l.grace)),
			expect: { answers: { 201: 1, 200: 24 }, crmWrites: 1, slack: 0 },
		},
		{
			id: 'late-retry',
			label: 'Lead 1 again, after it was written',
			leads: [],
			send: (post) => seq(post, [l.ada]),
			expect: { answers: { 200: 1 }, crmWrites: 0, slack: 0 },
		},
		{
			id: 'changed-payload',
			label: 'Lead 1 edits her name, new submission ×3',
			leads: [l.adaEdited],
			send: (post) => all(post, times(3, l.adaEdited)),
			expect: { answers: { 201: 1, 200: 2 }, crmWrites: 1, slack: 0 },
		},
		{
			id: 'crm-down',
			label: 'Lead 3: CRM down once, sender retries ×2',
			leads: [l.katherine],
			send: (post) => {
				services.crm.failNext(1); // HTTP 500 before anything is committed
				return seq(post, times(3, l.katherine));
			},
			expect: { answers: { 502: 1, 201: 1, 200: 1 }, crmWrites: 1, slack: 0 },
		},
		{
			id: 'missing-key',
			label: 'No email: cannot be keyed (missing_key)',
			leads: [],
			send: (post) => seq(post, [l.noEmail]),
			expect: { answers: { 202: 1 }, crmWrites: 0, slack: 1 },
		},
	];
}

const countBy = (list, f) => list.reduce((acc, x) => ((acc[f(x)] = (acc[f(x)] || 0) + 1), acc), {});

/** Fires every case at `webhookUrl`; returns one row per case with what happened. */
async function fireStorm({ webhookUrl, services, runId, log }) {
	const rows = [];
	const post = (body) => deliver(webhookUrl, body);
	for (const c of cases(runId, services)) {
		const before = { crm: services.crm.writeCount(), slack: services.slack.messages.length };
		const t0 = Date.now();
		const responses = await c.send(post);
		const row = {
			id: c.id,
			label: c.label,
			leads: c.leads.length,
			sent: responses.length,
			answers: countBy(responses, (r) => r.status),
			created: responses.filter((r) => r.status === 201).length,
			duplicates: responses.filter((r) => r.status === 200 && r.json?.status === 'duplicate').length,
			needsReview: responses.filter((r) => r.status === 202).length,
			failed: responses.filter((r) => r.status === 502).length,
			crmWrites: services.crm.writeCount() - before.crm,
			slack: services.slack.messages.length - before.slack,
			contactIds: [...new Set(responses.map((r) => r.json?.contactId).filter(Boolean))],
			reasons: [...new Set(responses.map((r) => r.json?.reason).filter(Boolean))],
			unexpected: responses.filter((r) => ![200, 201, 202, 502].includes(r.status)).map((r) => `${r.status} ${r.text.slice(0, 200)}`),
			expect: c.expect,
			ms: Date.now() - t0,
		};
		rows.push(row);
		log(`${c.label}: sent ${row.sent}, answers ${JSON.stringify(row.answers)}, CRM writes ${row.crmWrites} (${row.ms} ms)`);
	}
	return rows;
}

module.exports = { fireStorm, leads, cases };
