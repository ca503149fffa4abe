// What one node is, for the audit: a retry source (trigger), a write (and how a repeat of it
// behaves), one of this package's nodes, or none of these. Reads only the node's saved JSON;
// parameters a saved workflow leaves out are read at n8n's defaults (nodeDefaults.ts).

import { NODE_DEFAULTS } from './nodeDefaults';
import type { WriteKind } from './types';

/** A node as saved in a workflow file (only the fields the audit reads). */
export interface SavedNode {
	id?: string;
	name: string;
	type: string;
	typeVersion?: number;
	disabled?: boolean;
	parameters?: Record<string, unknown>;
	notes?: string;
	retryOnFail?: boolean;
	onError?: string;
	continueOnFail?: boolean;
}

/** Why a workflow can run the same event twice: what starts it. */
export type TriggerKind = 'webhook' | 'form' | 'app' | 'schedule' | 'manual' | 'sub-workflow' | 'chat' | 'tool' | 'error';

/** When each kind of start runs the same event again, in the users' words. */
export const RETRY_SOURCE: Record<TriggerKind | 'none', string> = {
	webhook: 'the sender delivers the webhook again when it got no answer in time',
	form: 'the form is submitted twice',
	app: 'the trigger delivers the same event again (a redelivery, or a poll that overlaps the last one)',
	schedule: 'a run is retried or overlaps the next one and reads the same records',
	manual: 'someone runs it again by hand',
	'sub-workflow': 'the calling workflow retries the call',
	chat: 'the user sends the message again',
	tool: 'the agent or MCP client calls it again',
	error: 'the failed execution it reports on is retried and fails again',
	none: 'it is run again',
};

export const OUR_PACKAGE = 'n8n-nodes-idempotency';

/** `n8n-nodes-idempotency.idempotencyGuard` → `idempotencyGuard`, for this package's nodes only
 * (also when installed under a scope, `@scope/n8n-nodes-idempotency.…`). */
export function ourNode(node: SavedNode): string | undefined {
	const dot = node.type.lastIndexOf('.');
	const pkg = node.type.slice(0, dot);
	if (pkg !== OUR_PACKAGE && !pkg.endsWith(`/${OUR_PACKAGE}`)) return undefined;
	return node.type.slice(dot + 1);
}

const BASE = 'n8n-nodes-base.';
const LANGCHAIN = '@n8n/n8n-nodes-langchain.';

function shortType(node: SavedNode): { pkg: string; name: string } {
	const dot = node.type.lastIndexOf('.');
	return { pkg: node.type.slice(0, dot + 1), name: node.type.slice(dot + 1) };
}

export function isStickyNote(node: SavedNode): boolean {
	return node.type === `${BASE}stickyNote`;
}

export function triggerKind(node: SavedNode): TriggerKind | undefined {
	const { pkg, name } = shortType(node);
	if (pkg === BASE || pkg === LANGCHAIN) {
		if (name === 'webhook') return 'webhook';
		if (name === 'formTrigger') return 'form';
		if (name === 'scheduleTrigger' || name === 'cron' || name === 'interval') return 'schedule';
		if (name === 'manualTrigger' || name === 'start') return 'manual';
		if (name === 'executeWorkflowTrigger') return 'sub-workflow';
		if (name === 'chatTrigger' || name === 'manualChatTrigger') return 'chat';
		if (name === 'mcpTrigger') return 'tool';
		if (name === 'errorTrigger') return 'error';
		if (name === 'emailReadImap') return 'app';
	}
	if (/Trigger$/.test(name)) return 'app';
	return undefined;
}

/** What a write node does and how a repeat of it behaves. */
export interface WriteClass {
	/** e.g. `HubSpot deal create`, `HTTP POST`. */
	action: string;
	kind: WriteKind;
	/** A repeat cannot add a second record: an upsert, an update or delete by key, a request that
	 * sends an idempotency key. */
	idempotent: boolean;
	/** A repeat is noise, not a doubled business record (a chat message, an e-mail, a vector). */
	lowStakes?: boolean;
	/** For kind `unknown`: why the audit cannot tell. */
	why?: string;
}

// ---------------------------------------------------------------------------------------------
// Parameters, with n8n's defaults for what a saved node leaves out

function param(node: SavedNode, name: string): unknown {
	return node.parameters ? node.parameters[name] : undefined;
}

function text(value: unknown): string {
	return typeof value === 'string' ? value : '';
}

const isExpression = (value: unknown): boolean => typeof value === 'string' && value.startsWith('=');

/** The resource and operation a node runs, its saved values else n8n's defaults for its version. */
export function resourceAndOperation(node: SavedNode): { resource?: string; operation?: string } {
	const versions = NODE_DEFAULTS[baseTypeOf(node)] ?? [];
	const version = typeof node.typeVersion === 'number' ? node.typeVersion : 1;
	let defaults = versions[0];
	for (const entry of versions) if (entry.from <= version) defaults = entry;
	const savedResource = param(node, 'resource');
	const resource = typeof savedResource === 'string' ? savedResource : (defaults?.resource ?? undefined);
	const savedOperation = param(node, 'operation');
	const operation =
		typeof savedOperation === 'string' ? savedOperation : defaults ? defaults.operation[resource ?? ''] : undefined;
	return { resource: resource ?? undefined, operation };
}

/** `n8n-nodes-base.hubspotTool` → `n8n-nodes-base.hubspot`: an app node used as an agent tool has
 * the same parameters as the app node. */
function baseTypeOf(node: SavedNode): string {
	if (node.type.startsWith(BASE) && node.type.endsWith('Tool')) {
		const plain = node.type.slice(0, -'Tool'.length);
		if (NODE_DEFAULTS[plain] || SPECIAL_APPS.has(plain.slice(BASE.length))) return plain;
	}
	return node.type;
}

// ---------------------------------------------------------------------------------------------
// Unstable values: what changes between two runs of the same event

/** Expressions that give a different value on a retry of the same event. */
export const UNSTABLE_TOKENS: Array<[RegExp, string]> = [
	[/\$execution\b/, '$execution (a new execution on every retry)'],
	[/\$now\b|\$today\b/, '$now / $today (the clock)'],
	[/Date\.now\s*\(|new Date\s*\(\s*\)/, 'the clock (Date.now(), new Date())'],
	[/Math\.random|randomUUID|\$uuid|uuid\s*\(|\$randomString|\$jmespath\s*\(\s*\$random/i, 'a random value'],
	[/\$runIndex\b/, '$runIndex (the run, not the event)'],
	[/\$itemIndex\b|\.itemIndex\b|\$position\b/, '$itemIndex (the position in this run, not the event)'],
	[/\$workflow\.(?:active|name)\b/, 'the workflow, not the event'],
];

export function unstableReason(value: string): string | undefined {
	for (const [pattern, why] of UNSTABLE_TOKENS) if (pattern.test(value)) return why;
	return undefined;
}

// ---------------------------------------------------------------------------------------------
// HTTP requests

const HTTP_TYPES = new Set([`${BASE}httpRequest`, `${BASE}httpRequestTool`, `${LANGCHAIN}toolHttpRequest`]);

/** POSTs that compute or read: model completions, embeddings, search, scraping, conversions. */
const COMPUTE_HOSTS =
	/(?:^|[/.@])(api\.openai\.com|api\.anthropic\.com|generativelanguage\.googleapis\.com|aiplatform\.googleapis\.com|openrouter\.ai|api\.groq\.com|api\.mistral\.ai|api\.perplexity\.ai|api\.deepseek\.com|api\.cohere\.(?:ai|com)|api-inference\.huggingface\.co|router\.huggingface\.co|api\.together\.xyz|api\.x\.ai|api\.fireworks\.ai|api\.replicate\.com|api\.elevenlabs\.io|api(?:-free)?\.deepl\.com|api\.tavily\.com|serpapi\.com|google\.serper\.dev|api\.exa\.ai|api\.firecrawl\.dev|[rs]\.jina\.ai|api\.jina\.ai|api\.apify\.com|api\.dataforseo\.com|app\.scrapingbee\.com|api\.scrapingbee\.com|chrome\.browserless\.io|api\.assemblyai\.com|api\.deepgram\.com|api\.stability\.ai|api\.ideogram\.ai|cloud\.leonardo\.ai|api\.runwayml\.com|(?:queue\.)?fal\.run|api\.dev\.runwayml\.com|localhost:11434|api\.kie\.ai|api\.piapi\.ai|api\.brave\.com|api\.search\.brave\.com|api\.bing\.microsoft\.com|customsearch\.googleapis\.com|vision\.googleapis\.com|translation\.googleapis\.com|language\.googleapis\.com|speech\.googleapis\.com|texttospeech\.googleapis\.com|api\.cloudmersive\.com|api\.ocr\.space|api\.unstructured(?:app)?\.io|api\.llamaindex\.ai|api\.cloud\.llamaindex\.ai|api\.hunter\.io|api\.apollo\.io|api\.clearbit\.com|api\.peopledatalabs\.com|api\.scrapingdog\.com|api\.zenrows\.com|api\.scraperapi\.com|api\.brightdata\.com|api\.phantombuster\.com|api\.rapidapi\.com|[a-z0-9-]+\.p\.rapidapi\.com|api\.json2video\.com|api\.creatomate\.com|api\.heygen\.com|api\.dumplingai\.com|api\.bannerbear\.com|api\.placid\.app|api\.pdfshift\.io|api\.pdf\.co|api\.html2pdf|api\.ilovepdf\.com|gotenberg|hcti\.io|image-api\.photoroom\.com|api\.bfl\.ml|api\.voyageai\.com|ncmb\.neurochain\.io|api\.remove\.bg|api\.openweathermap\.org|slack\.com\/api\/views\.\w+|pdf-services(?:-\w+)?\.adobe\.io|tmpfiles\.org|file\.io|transfer\.sh|0x0\.st|catbox\.moe|api\.cloudconvert\.com|api\.convertapi\.com)(?=[/:?]|$)/i;
const COMPUTE_PATHS =
	/\/(?:search|_search|query|_query|lookup|find|completions?|chat\/completions|embeddings?|v1\/messages|generate\w*|predict(?:ions)?|classify|extract\w*|scrape|crawl|map|parse|ocr|transcri\w*|translate|analy[sz]e\w*|validate|verify|enrich\w*|token|oauth2?|login|auth\w*|render|convert\w*|summari[sz]e|images\/generations|audio\/\w+|text-to-speech|tts|moderations?|rerank|score|similarity|count|preview|estimate|quote|calculate|\w*embeddings?|scroll|recommend|discover|freeBusy|api\/chat|ai\/run|retrieve|details?|facets?|aggregate|wd\/hub\/.*)(?=[/?.#:]|$)|\/(?:get|list|fetch|find|search|query|lookup|read)(?:[A-Z_-][\w-]*)?(?=[/?.#]|$)|\/collections\/[^/]+\/points\/?$|:(?:generateContent|streamGenerateContent|batchGet|runReport|runQuery|query|search|predict|embedContent|countTokens)\b/i;
/** POSTs that notify a person: chat messages, e-mail, SMS, push. */
const NOTIFY_URLS =
	/hooks\.slack\.com|slack\.com\/api\/(?:chat\.post|files\.upload|chat\.update)|discord(?:app)?\.com\/api\/webhooks|api\.telegram\.org\/bot[^/]*\/send|chat\.googleapis\.com|outlook\.office(?:365)?\.com\/webhook|webhook\.office\.com|api\.twilio\.com\/[^?]*\/Messages|api\.sendgrid\.com\/v3\/mail\/send|api\.mailgun\.net\/v3\/[^?]*\/messages|api\.postmarkapp\.com\/email|api\.resend\.com\/emails|api\.(?:brevo|sendinblue)\.com\/v3\/smtp\/email|graph\.facebook\.com\/[^?]*\/messages|api\.pushover\.net|ntfy\.sh|api\.line\.me\/v2\/bot\/message|api\.mailjet\.com\/v3(?:\.1)?\/send|gmail\.googleapis\.com\/[^?]*\/send|graph\.microsoft\.com\/[^?]*\/sendMail|api\.pushbullet\.com|api\.smtp2go\.com|api\.mattermost|\/hooks\/[a-z0-9]{20,}|\/(?:send\w*|notify|sms|imbot\.message\.add|chat\.postMessage)(?=[/?#]|$)/i;

/** Does the node send an idempotency key the receiving API can de-duplicate on? (a header or body
 * field named Idempotency-Key / idempotency_key whose value is stable across retries) */
export function sendsIdempotencyKey(node: SavedNode): boolean {
	const serialized = JSON.stringify(node.parameters ?? {});
	const match = /idempotency[-_ ]?key[^a-z]/i.exec(serialized);
	if (!match) return false;
	// The value next to the name must not change between retries ($execution, $now, random, …).
	return unstableReason(serialized.slice(match.index, match.index + 300)) === undefined;
}

function classifyHttp(node: SavedNode): WriteClass | undefined {
	const v = typeof node.typeVersion === 'number' ? node.typeVersion : 1;
	const rawMethod = param(node, v < 3 && node.type === `${BASE}httpRequest` ? 'requestMethod' : 'method') ?? param(node, 'method') ?? param(node, 'requestMethod');
	const url = text(param(node, 'url'));
	// "=POST": an expression field holding a constant.
	const constant = typeof rawMethod === 'string' && /^=\s*[A-Za-z]+\s*$/.test(rawMethod) ? rawMethod.slice(1).trim() : rawMethod;
	if (isExpression(constant)) {
		return { action: 'HTTP request (method from an expression)', kind: 'unknown', idempotent: false, why: 'its method is computed by an expression' };
	}
	const method = (typeof constant === 'string' ? constant : 'GET').toUpperCase();
	if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) return undefined;
	const action = `HTTP ${method}`;
	const idempotent = sendsIdempotencyKey(node);
	if (method === 'DELETE') return { action, kind: 'delete', idempotent: true };
	if (method === 'PUT') return { action, kind: 'update', idempotent: true };
	const withoutQuery = url.replace(/[?#].*$/, '');
	if (/graphql/i.test(url)) {
		const body = JSON.stringify(node.parameters ?? {});
		if (!/\bmutation\b/.test(body)) return undefined;
		return { action: 'GraphQL mutation', kind: 'create', idempotent };
	}
	if (COMPUTE_HOSTS.test(url)) return undefined;
	if (NOTIFY_URLS.test(url)) return { action: `${action} (notification)`, kind: 'notify', idempotent, lowStakes: true };
	if (COMPUTE_PATHS.test(withoutQuery)) return undefined;
	// A GraphQL query sent to an endpoint not named /graphql, or a delete or cancel sent as a POST.
	if (/\\?"query\\?"\s*:\s*\\?"\s*(?:query\b|\{)/.test(JSON.stringify(node.parameters ?? {})) && !/\bmutation\b/.test(JSON.stringify(node.parameters ?? {})))
		return undefined;
	if (/\/(?:delete|remove)\w*(?=[/?#]|$)/i.test(withoutQuery)) return { action, kind: 'delete', idempotent: true };
	if (/\/(?:cancel|reschedule|update\w*|mark\w*|interested|archive|points\/payload)(?=[/?#.]|$)/i.test(withoutQuery)) return { action, kind: 'update', idempotent: true };
	// A POST to one record (…/posts/{{ id }}, …/posts/123) changes that record (WordPress, many REST APIs).
	if (/\/(?:\{\{[^}]*\}\}|\d+|[0-9a-f]{8}-[0-9a-f-]{27,})\/?$/i.test(withoutQuery)) return { action, kind: 'update', idempotent: true };
	if (/upsert|create_or_update|createOrUpdate/i.test(url)) return { action, kind: 'upsert', idempotent: true };
	if (method === 'PATCH') return { action, kind: 'update', idempotent: true };
	return { action, kind: 'create', idempotent };
}

// ---------------------------------------------------------------------------------------------
// SQL

const SQL_NODES = new Set([
	'postgres',
	'mySql',
	'microsoftSql',
	'snowflake',
	'crateDb',
	'questDb',
	'timescaleDb',
	'oracleDatabase',
	'googleBigQuery',
	'databricks',
	'supabase',
]);

/** What an SQL statement does to the data, by its first writing verb. */
export function classifySql(query: string): WriteKind | undefined {
	const sql = query.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
	if (/\bon\s+conflict\b|\bon\s+duplicate\s+key\b|\bmerge\s+into\b|\binsert\s+or\s+(?:replace|ignore)\b|\binsert\s+ignore\b|\breplace\s+into\b/i.test(sql))
		return 'upsert';
	if (/\binsert\s+into\b/i.test(sql)) return 'create';
	if (/\bupdate\s+[\w."`[\]]+\s+set\b/i.test(sql)) return 'update';
	if (/\bdelete\s+from\b|\btruncate\b|\bdrop\s+table\b/i.test(sql)) return 'delete';
	if (/\bcall\s+\w|\bexec(?:ute)?\s+\w/i.test(sql)) return 'unknown';
	return undefined;
}

// ---------------------------------------------------------------------------------------------
// App nodes by resource and operation

/** Nodes whose main job is to tell a person something. */
const MESSAGING = new Set([
	'slack',
	'telegram',
	'discord',
	'mattermost',
	'microsoftTeams',
	'googleChat',
	'whatsApp',
	'twilio',
	'sendGrid',
	'mailgun',
	'mailjet',
	'mandrill',
	'gmail',
	'microsoftOutlook',
	'emailSend',
	'line',
	'matrix',
	'pushover',
	'pushbullet',
	'pushcut',
	'signl4',
	'rocketchat',
	'zulip',
	'vonage',
	'messageBird',
	'plivo',
	'sms77',
	'msg91',
	'mocean',
	'gotify',
	'ciscoWebex',
	'twake',
	'twist',
	'awsSes',
	'awsSns',
	'sendInBlue',
	'spontit',
	'lineNotify',
]);

/** Nodes handled here without a Resource/Operation table entry. */
const SPECIAL_APPS = new Set(['emailSend', 'discord', 'code', 'function', 'functionItem', 'executeCommand', 'ssh', 'writeBinaryFile', 'facebookGraphApi', 'spontit', 'lineNotify']);

/** Nodes whose operations transform data inside the execution or call a model: nothing outside
 * changes, whatever their operation is called (Edit Image "create", iCal "create event file"). */
const COMPUTE_APPS = new Set([
	'executeWorkflow', 'form', 'evaluation', 'executionData', 'removeDuplicates', 'dateTime', 'itemLists', 'html',
	'compression', 'convertToFile', 'extractFromFile', 'editImage', 'jwt', 'totp', 'iCal', 'spreadsheetFile', 'crypto',
	'markdown', 'xml', 'e2eTest', 'n8nTrainingCustomerDatastore', 'openAi', 'mistralAi', 'perplexity', 'jinaAi', 'deepL',
	'googleTranslate', 'googleCloudNaturalLanguage', 'googlePerspective', 'awsComprehend', 'awsRekognition', 'awsTextract',
	'awsTranscribe', 'humanticAi', 'mindee', 'bannerbear', 'apiTemplateIo', 'airtop', 'lingvaNex', 'openThesaurus',
	'peekalink', 'uplead', 'hunter', 'clearbit', 'dropcontact', 'Brandfetch', 'mailcheck', 'oneSimpleApi', 'urlScanIo',
	'coinGecko', 'marketstack', 'nasa', 'openWeatherMap', 'hackerNews', 'googleBooks', 'postBin',
]);

/** Uploads to a path: the same path again overwrites, it does not add a second file. */
const PATH_STORAGE = new Set(['awsS3', 's3', 'googleCloudStorage', 'azureStorage', 'ftp', 'dropbox', 'nextCloud', 'box', 'readWriteFile', 'minio']);

const READ_VERB =
	/^(?:get|list|search|read|lookup|query|find|count|info|download|fetch|select|exist|exists|rowExists|rowNotExists|check|preview|stats|statistics|analy[sz]e|detect|extract|translate|summari[sz]e|generate|predict|moderate|validate|verify|completion|enrich|scrape|screenshot|aggregate|sort|limit|me|status|history|report|getAll|getMany|load|metadata|markdown|export|convert|compress|decompress|sign|decode|encode|hash|crawl|map|browse|expand|shorten|ping|test|transcribe|speak|classify|embed|message(?:Model|Assistant)?|chat|text|image|audio|analyzeImage)/i;
const UPSERT_VERB = /^(?:upsert|appendOrUpdate|createOrUpdate|createOrGet|findOneAndReplace|findOneAndUpdate|put|replace|save|set)$/i;
const UPDATE_VERB =
	/^(?:update|edit|set|change|rename|move|archive|unarchive|enable|disable|activate|deactivat|close|reopen|complete|markAs|lock|unlock|cancel|restore|pin|unpin|approve|disapprove|mute|addLabel|removeLabel|addTag|removeTag|addToGroup|removeFromGroup|resolve|subscribe|unsubscribe|share|link|unlink|star|unstar|follow|unfollow|assign|unassign|transition|void|mark|tag|untag|patch|ban|unban|kick|promote|roleAdd|roleRemove|rename|join|leave|invite|reinvite|resubscribe|opt)/i;
const DELETE_VERB = /^(?:delete|remove|clear|trash|purge|drop|truncate|destroy|erase)/i;
const NOTIFY_VERB = /^(?:send|post$|postMessage|postEphemeral|reply|notify|sms|sendAndWait|sendTemplate|sendMessage|broadcast|alert|publish)/i;
const CREATE_VERB =
	/^(?:create|add|insert|append|upload|copy|duplicate|clone|register|push|submit|track|batchCreate|book|like|retweet|incr|quickAdd|make|write|post|log|charge|capture|refund|pay|transfer|payout|issue|enqueue|queue|commit)/i;
const UNKNOWN_VERB = /^(?:execute|run|invoke|trigger|dispatch|call|perform|launch|start|sync|import|process)/i;

/** Resources where "add" joins an existing thing to a list, a tag, a group: doing it twice changes nothing. */
const MEMBERSHIP_RESOURCE = /list|tag|label|group|member|project|campaign|reaction|star|role|collaborator|subscriber|audience|segment|sequence|workflow|pipeline/i;

function titleCase(name: string): string {
	return name.charAt(0).toUpperCase() + name.slice(1);
}

function classifyOperation(app: string, resource: string | undefined, operation: string): WriteClass | undefined {
	const action = `${titleCase(app)}${resource ? ` ${resource}` : ''} ${operation}`;
	const messaging = MESSAGING.has(app);
	const messageLike = !resource || /message|mail|email|sms|draft|chat|post|notification|alert|text|file|reply|thread|template|media|photo|document|sticker|audio|video|location|poll/i.test(resource);
	if (READ_VERB.test(operation) && !/^(?:post|send|publish)/i.test(operation)) return undefined;
	if (UPSERT_VERB.test(operation)) return { action, kind: 'upsert', idempotent: true };
	if (DELETE_VERB.test(operation)) {
		// Deleting a message or a key twice is harmless; removing someone from a list too.
		return { action, kind: 'delete', idempotent: true };
	}
	if (/^sendChatAction$/i.test(operation)) return undefined; // "typing…"
	if (UPDATE_VERB.test(operation) && !/^add(?!Label|Tag|ToGroup)/i.test(operation)) return { action, kind: 'update', idempotent: true };
	if (messaging && messageLike && (NOTIFY_VERB.test(operation) || CREATE_VERB.test(operation)))
		return { action, kind: 'notify', idempotent: false, lowStakes: true };
	if (/^(?:sendAndWait)$/i.test(operation)) return { action, kind: 'notify', idempotent: false, lowStakes: true };
	if (UPDATE_VERB.test(operation) && !/^add/i.test(operation)) return { action, kind: 'update', idempotent: true };
	if (/^add/i.test(operation) && resource && MEMBERSHIP_RESOURCE.test(`${resource} ${operation.slice(3)}`) && !/comment|note|task|product|item|line|attachment|activity/i.test(resource + operation))
		return { action, kind: 'update', idempotent: true };
	if (NOTIFY_VERB.test(operation) && /^(?:send|reply|notify|sms)/i.test(operation))
		return { action, kind: 'notify', idempotent: false, lowStakes: true };
	if (CREATE_VERB.test(operation) || NOTIFY_VERB.test(operation)) {
		// A Slack channel, a sheet tab, a label: a second create of the same name is refused.
		if (/^create$/i.test(operation) && resource && /^(?:channel|label|folder|sheet|tag|userGroup|bucket|index|table|collection|database|dataset|topic|queue|webhook)$|(?:Tag|Label)$/.test(resource))
			return { action, kind: 'update', idempotent: true };
		return { action, kind: 'create', idempotent: false };
	}
	if (UNKNOWN_VERB.test(operation)) return { action, kind: 'unknown', idempotent: false, why: `its operation "${operation}" may change data` };
	return undefined;
}

/** Code that talks to the network may write; code that only reshapes items does not. */
const CODE_NETWORK = /helpers\s*\.\s*(?:httpRequest|request)|\bfetch\s*\(|\baxios\b|\$http\b|require\s*\(\s*['"](?:https?|node-fetch|axios|got|pg|mysql2?|mongodb|ioredis|redis|child_process|fs)['"]|\brequests\s*\.\s*(?:post|put|patch|delete)|urllib|XMLHttpRequest|\bexecSync\b|\bspawn\s*\(/;

function classifyApp(node: SavedNode): WriteClass | undefined {
	const type = baseTypeOf(node);
	if (!type.startsWith(BASE)) return undefined;
	const app = type.slice(BASE.length);
	if (COMPUTE_APPS.has(app)) return undefined;
	switch (app) {
		case 'emailSend':
			return { action: 'Send Email', kind: 'notify', idempotent: false, lowStakes: true };
		case 'code':
		case 'function':
		case 'functionItem': {
			const code = [param(node, 'jsCode'), param(node, 'pythonCode'), param(node, 'functionCode')].map(text).join('\n');
			return CODE_NETWORK.test(code)
				? { action: 'Code calling the network', kind: 'unknown', idempotent: false, why: 'its code makes requests the audit cannot read' }
				: undefined;
		}
		case 'executeCommand':
			return { action: 'Execute Command', kind: 'unknown', idempotent: false, why: 'a shell command can change anything' };
		case 'ssh':
			if (param(node, 'resource') === 'file' && param(node, 'operation') === 'download') return undefined;
			return { action: 'SSH command', kind: 'unknown', idempotent: false, why: 'a remote command can change anything' };
		case 'writeBinaryFile':
			return { action: 'Write file', kind: 'upsert', idempotent: true };
		case 'facebookGraphApi': {
			const method = text(param(node, 'httpRequestMethod')) || 'GET';
			return method === 'POST' ? { action: 'Facebook Graph API POST', kind: 'create', idempotent: false } : undefined;
		}
		case 'discord': {
			const { resource, operation } = resourceAndOperation(node);
			if ((node.typeVersion ?? 1) < 2 || param(node, 'authentication') === 'webhook' || !operation)
				return { action: 'Discord message send', kind: 'notify', idempotent: false, lowStakes: true };
			return classifyOperation(app, resource, operation);
		}
		case 'spontit':
		case 'lineNotify':
			return { action: `${titleCase(app)} notification`, kind: 'notify', idempotent: false, lowStakes: true };
	}
	const { resource, operation } = resourceAndOperation(node);
	if (!operation) return undefined;
	if (operation === 'executeQuery' || (SQL_NODES.has(app) && /query/i.test(operation) && operation !== 'select')) {
		const query = text(param(node, 'query')) || text(param(node, 'sqlQuery'));
		if (!query || /^=\s*\{\{\s*[^}]*\}\}\s*$/.test(query))
			return { action: `${titleCase(app)} query from an expression`, kind: 'unknown', idempotent: false, why: 'its SQL is computed by an expression' };
		const kind = classifySql(query);
		if (!kind) return undefined;
		if (kind === 'unknown') return { action: `${titleCase(app)} query`, kind, idempotent: false, why: 'it calls a stored procedure' };
		return { action: `${titleCase(app)} ${kind === 'create' ? 'INSERT' : kind === 'upsert' ? 'upsert' : kind === 'update' ? 'UPDATE' : 'DELETE'} query`, kind, idempotent: kind !== 'create' };
	}
	if (PATH_STORAGE.has(app) && /upload|write|put|create/i.test(operation) && !/folder|bucket|container/i.test(resource ?? ''))
		return { action: `${titleCase(app)} ${resource ? `${resource} ` : ''}${operation}`, kind: 'upsert', idempotent: true };
	if (app === 'stripe' && resource === 'token') return undefined;
	if (app === 'redis') {
		if (operation === 'set') return { action: 'Redis set', kind: 'update', idempotent: true };
		if (operation === 'incr' || operation === 'push')
			return { action: `Redis ${operation}`, kind: 'create', idempotent: false };
		if (operation === 'publish') return { action: 'Redis publish', kind: 'notify', idempotent: false, lowStakes: true };
	}
	const found = classifyOperation(app, resource, operation);
	if (found && found.kind === 'create' && (app === 'postgres' || app === 'mySql')) {
		// Insert with "Skip on Conflict" (ON CONFLICT DO NOTHING) cannot add a second row.
		const options = (param(node, 'options') ?? {}) as Record<string, unknown>;
		if (options.skipOnConflict === true) return { ...found, kind: 'upsert', idempotent: true };
	}
	return found;
}

/** Langchain nodes: only vector-store inserts write; a model, a chain, an agent only computes. */
function classifyLangchain(node: SavedNode): WriteClass | undefined {
	const name = node.type.slice(LANGCHAIN.length);
	// An insert that clears the store first replaces its content: a repeat leaves the same vectors.
	const clears = (param(node, 'clearStore') === true || (param(node, 'options') as Record<string, unknown> | undefined)?.clearStore === true);
	if (/^vectorStore/.test(name) && /insert|upsert/i.test(text(param(node, 'mode'))) && clears)
		return { action: `${name} insert (store cleared first)`, kind: 'upsert', idempotent: true };
	if (/^vectorStore/.test(name) && /insert|upsert/i.test(text(param(node, 'mode'))))
		return { action: `${name} insert`, kind: 'create', idempotent: false, lowStakes: true };
	if (name === 'mcpClientTool' || name === 'mcpClient')
		return { action: 'MCP client tool', kind: 'unknown', idempotent: false, why: 'the MCP server it calls may offer tools that write' };
	if (name === 'toolCode' || name === 'code') {
		const code = [param(node, 'jsCode'), param(node, 'pythonCode'), param(node, 'code')].map((v) => (typeof v === 'object' ? JSON.stringify(v) : text(v))).join('\n');
		return CODE_NETWORK.test(code)
			? { action: 'Code tool calling the network', kind: 'unknown', idempotent: false, why: 'its code makes requests the audit cannot read' }
			: undefined;
	}
	return undefined;
}

/** Is this node a write, and what kind? Undefined for a node that only reads, computes or routes. */
export function classifyWrite(node: SavedNode): WriteClass | undefined {
	if (ourNode(node) !== undefined || isStickyNote(node) || triggerKind(node)) return undefined;
	if (HTTP_TYPES.has(node.type)) return classifyHttp(node);
	if (node.type.startsWith(BASE)) return classifyApp(node);
	if (node.type.startsWith(LANGCHAIN)) return classifyLangchain(node);
	// A community node the audit does not know.
	return { action: `community node ${node.type}`, kind: 'unknown', idempotent: false, why: 'it is a community node the audit does not know' };
}
