// Which rule takes an item, and so its owner, severity and output: the first rule, in order,
// whose reasons include the item's (no reasons = any) and whose condition holds for the item.

import type { ParameterReader } from '../../shared/n8n/parameters';
import { InvalidInputError } from '../../shared/store/errors';
import type { Severity } from '../../shared/store/types';

/** One rule as n8n stores it under `rules.rule[n]`. */
export interface RuleValues {
	outputName?: string;
	reasons?: string[];
	condition?: boolean;
	owner?: string;
	severity?: Severity;
}

export interface RuleMatch {
	/** The rule's output, or the last (Unrouted) when no rule matched. */
	output: number;
	owner: string;
	severity: Severity;
	/** The output's name: the rule's Output Name, `Rule N`, or Unrouted. */
	route: string;
}

export class Rules {
	constructor(
		readonly rules: RuleValues[],
		private readonly parameters: ParameterReader,
	) {}

	/** The index of the Unrouted output, after one output per rule. */
	get unrouted(): number {
		return this.rules.length;
	}

	match(itemIndex: number, reason: string): RuleMatch {
		let output = this.unrouted;
		for (let r = 0; r < this.rules.length; r++) {
			const reasons = this.rules[r].reasons ?? [];
			if (reasons.length > 0 && !reasons.includes(reason)) continue;
			// The condition is an expression of the item: read per item, not from the rule values.
			const condition = this.parameters.get(`rules.rule[${r}].condition`, itemIndex, true);
			if (condition === false || condition === 'false') continue;
			output = r;
			break;
		}
		const rule = output === this.unrouted ? null : this.rules[output];
		const fallbackOwner = String(this.parameters.get('fallbackOwner', itemIndex, '') ?? '').trim();
		const owner = String(rule?.owner ?? '').trim() || fallbackOwner;
		if (!owner) {
			throw new InvalidInputError(
				'No owner: the matching rule has none and Fallback Owner is empty',
				'Set an owner on every rule or a Fallback Owner, so no exception is left without a person.',
			);
		}
		return {
			output,
			owner,
			severity: rule?.severity ?? 'medium',
			route: rule ? String(rule.outputName ?? '').trim() || `Rule ${output + 1}` : 'Unrouted',
		};
	}
}
