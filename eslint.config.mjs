// n8n's community-node rules (the set for self-hosted packages), with the runtime-dependency rule
// off: this package needs `pg` and `ioredis` at run time, so it is self-hosted only.
import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

const n8nRules = n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport;

export default tseslint.config(
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', '*.js', '*.mjs'] },
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		extends: [tseslint.configs.recommended],
		languageOptions: { parser: tseslint.parser },
		rules: {
			'@typescript-eslint/no-explicit-any': 'error',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
		},
	},
	{
		// The command line (package.json `bin`) runs outside n8n: TypeScript's rules, not n8n's.
		files: ['cli/**/*.ts'],
		extends: [tseslint.configs.recommended],
		languageOptions: { parser: tseslint.parser },
		rules: {
			'@typescript-eslint/no-explicit-any': 'error',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'],
		plugins: n8nRules.plugins,
		rules: {
			...n8nRules.rules,
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// The store layer and the claim runner do not know n8n (docs/CONTRACT.md §2): their errors are
		// translated into NodeOperationError by the node layer.
		files: ['nodes/shared/store/**/*.ts', 'nodes/shared/claims.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		files: ['package.json'],
		languageOptions: { parser: tseslint.parser, parserOptions: { extraFileExtensions: ['.json'] } },
	},
);
