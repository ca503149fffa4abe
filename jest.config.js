/** Tests mirror the source tree: test/unit (no I/O), test/store (real Postgres and Redis),
 * test/nodes (node execute() with a mocked IExecuteFunctions, or in n8n-core's execution engine —
 * engine*.test.ts — with the real stores behind it). */
module.exports = {
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
	testTimeout: 60_000,
};
