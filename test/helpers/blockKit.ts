// The Block Kit shape our Slack messages rely on, as a checker: the block types we emit, with
// Slack's published limits. Returns every problem found (empty when valid).

type Obj = Record<string, unknown>;

function textObject(value: unknown, path: string, max: number, kinds: string[], problems: string[]): void {
	const t = value as Obj;
	if (!t || typeof t !== 'object') return void problems.push(`${path}: missing text object`);
	if (!kinds.includes(String(t.type))) problems.push(`${path}.type ${String(t.type)} not in ${kinds.join('|')}`);
	if (typeof t.text !== 'string' || t.text.length === 0) problems.push(`${path}.text empty`);
	else if (t.text.length > max) problems.push(`${path}.text longer than ${max}`);
}

export function blockKitProblems(message: { text?: unknown; blocks?: unknown }): string[] {
	const problems: string[] = [];
	if (typeof message.text !== 'string' || !message.text) problems.push('text (the notification fallback) is empty');
	const blocks = message.blocks as Obj[];
	if (!Array.isArray(blocks) || blocks.length === 0) return [...problems, 'blocks is empty'];
	if (blocks.length > 50) problems.push('more than 50 blocks');
	blocks.forEach((block, i) => {
		const path = `blocks[${i}]`;
		switch (block.type) {
			case 'header':
				textObject(block.text, `${path}.text`, 150, ['plain_text'], problems);
				break;
			case 'section': {
				if (!block.text && !block.fields) problems.push(`${path}: section needs text or fields`);
				if (block.text) textObject(block.text, `${path}.text`, 3000, ['mrkdwn', 'plain_text'], problems);
				if (block.fields) {
					const fields = block.fields as Obj[];
					if (!Array.isArray(fields) || fields.length > 10) problems.push(`${path}.fields: at most 10`);
					else fields.forEach((f, j) => textObject(f, `${path}.fields[${j}]`, 2000, ['mrkdwn', 'plain_text'], problems));
				}
				break;
			}
			case 'actions': {
				const elements = block.elements as Obj[];
				if (!Array.isArray(elements) || elements.length === 0 || elements.length > 25) problems.push(`${path}.elements: 1 to 25`);
				else
					elements.forEach((e, j) => {
						if (e.type !== 'button') problems.push(`${path}.elements[${j}] is not a button`);
						textObject(e.text, `${path}.elements[${j}].text`, 75, ['plain_text'], problems);
						if (e.url !== undefined && (typeof e.url !== 'string' || e.url.length > 3000 || !/^https?:\/\//.test(e.url)))
							problems.push(`${path}.elements[${j}].url invalid`);
						if (typeof e.action_id === 'string' && e.action_id.length > 255) problems.push(`${path}.elements[${j}].action_id too long`);
					});
				break;
			}
			case 'context': {
				const elements = block.elements as Obj[];
				if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) problems.push(`${path}.elements: 1 to 10`);
				else elements.forEach((e, j) => textObject(e, `${path}.elements[${j}]`, 3000, ['mrkdwn', 'plain_text'], problems));
				break;
			}
			case 'divider':
				if (Object.keys(block).some((k) => k !== 'type' && k !== 'block_id')) problems.push(`${path}: a divider has no content`);
				break;
			default:
				problems.push(`${path}: unexpected block type ${String(block.type)}`);
		}
	});
	return problems;
}
