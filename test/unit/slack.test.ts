import { REASONS, ROUTABLE_REASONS } from '../../nodes/shared/engine/reasonTexts';
import { escapeMrkdwn, ownerMention, slackMessage } from '../../nodes/shared/engine/slack';
import { blockKitProblems } from '../helpers/blockKit';

const exception = {
	id: '5f0c6f5e-0000-4000-8000-000000000001',
	namespace: 'finance-invoices',
	key: 'SUP-9|INV-2041|2026-11',
	reason: 'payload_mismatch',
	owner: 'U024BE7LH',
	severity: 'high' as const,
	occurrences: 2,
	firstSeenAt: Date.UTC(2026, 10, 28, 9, 0, 0),
	lastSeenAt: Date.UTC(2026, 10, 28, 9, 5, 0),
};
const context = { attempt: 1, executionUrl: 'https://n8n.example.com/workflow/7/executions/42', route: 'Finance review' };

describe('Slack messages', () => {
	it('produce valid Block Kit with reason in words, owner mention, key, attempt, times, link and next action', () => {
		const message = slackMessage(exception, context);
		expect(blockKitProblems(message)).toEqual([]);
		const all = JSON.stringify(message.blocks);
		expect(all).toContain('Same key, different payload');
		expect(all).toContain('<@U024BE7LH>');
		expect(all).toContain('SUP-9|INV-2041|2026-11');
		expect(all).toContain('*Attempt*\\n1');
		expect(all).toContain('*Occurrences*\\n2');
		expect(all).toContain('2026-11-28 09:00:00 UTC');
		expect(all).toContain('2026-11-28 09:05:00 UTC');
		expect(all).toContain(REASONS.payload_mismatch.nextAction);
		expect(message.blocks.find((b) => b.type === 'actions')).toMatchObject({ elements: [{ url: context.executionUrl }] });
		expect(message.text).toContain('payload_mismatch');
	});

	it('stays valid for every reason, huge keys, hostile text and no execution link', () => {
		for (const reason of [...ROUTABLE_REASONS, 'something_new']) {
			const message = slackMessage(
				{ ...exception, reason, key: `<!channel> & ${'k'.repeat(5000)}`, owner: '<!here>', namespace: 'n'.repeat(300) },
				{ attempt: null, executionUrl: null, route: 'x'.repeat(4000) },
			);
			expect(blockKitProblems(message)).toEqual([]);
			expect(JSON.stringify(message.blocks)).not.toContain('<!channel>');
			expect(JSON.stringify(message.blocks)).not.toContain('<!here>');
		}
	});

	it('mentions Slack users, channels and groups, and leaves other owners as text', () => {
		expect(ownerMention('U024BE7LH')).toBe('<@U024BE7LH>');
		expect(ownerMention('W0123ABCD')).toBe('<@W0123ABCD>');
		expect(ownerMention('C0123ABCD')).toBe('<#C0123ABCD>');
		expect(ownerMention('S0123ABCD')).toBe('<!subteam^S0123ABCD>');
		expect(ownerMention('@jane')).toBe('@jane');
		expect(ownerMention('team <ops>')).toBe('team &lt;ops&gt;');
		expect(escapeMrkdwn('a & b')).toBe('a &amp; b');
	});

	it('the checker itself finds broken messages', () => {
		expect(blockKitProblems({ text: '', blocks: [] })).not.toEqual([]);
		expect(blockKitProblems({ text: 'x', blocks: [{ type: 'section' }] })).toEqual(['blocks[0]: section needs text or fields']);
		expect(blockKitProblems({ text: 'x', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'y'.repeat(200) } }] })).toHaveLength(2);
	});

	it('lists every reason of an incident grouped by key, in words and as codes, escaped', () => {
		const incident = { ...exception, reason: 'write_timeout', reasons: ['write_timeout', 'in_progress', 'lease_expired', '<custom>'] };
		const message = slackMessage(incident, context);
		expect(blockKitProblems(message)).toEqual([]);
		expect(message.text).toContain('Reasons: write_timeout, in_progress, lease_expired, &lt;custom&gt;.');
		const all = JSON.stringify(message.blocks);
		expect(all).toContain('*Reasons*');
		expect(all).toContain(`${REASONS.lease_expired.label} (\`lease_expired\`)`);
		expect(all).toContain('&lt;custom&gt;');
		expect(all + message.text).not.toContain('<custom>');
		// One reason: no list, the message stays as before.
		expect(JSON.stringify(slackMessage({ ...exception, reasons: ['payload_mismatch'] }, context))).toEqual(JSON.stringify(slackMessage(exception, context)));
	});
});
