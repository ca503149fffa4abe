// Lets plain Node load the TypeScript sources, for the processes and worker threads tests start
// outside Jest (a second n8n process on one embedded folder, the embedded store's PGlite worker):
// each .ts module is compiled on load with the repo's TypeScript, types dropped, nothing checked.
const fs = require('fs');
const ts = require('typescript');

const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false };

require.extensions['.ts'] = (module, filename) => {
	const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename });
	module._compile(outputText, filename);
};
