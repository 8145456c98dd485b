// Checks recorded responses against the OpenAPI document.
//
//   node t/openapi/validate.mjs html/openapi.yaml responses.jsonl
//
// Each line of responses.jsonl is {method, target, host, status, type,
// body?} (t/lib/Kanban/OpenAPI.pm writes them). A response passes when
// the document names its route (path and method), names its status for
// that operation, lists its media type there, and, for JSON, its body
// matches that media type's schema (JSON Schema 2020-12, as OpenAPI 3.1
// has it, checked by ajv). Paths outside the document's prefixes (a test's
// own locations, the UI's files) are not judged; an unknown /api/ path
// must be the router's 404 or 405 problem.
//
// Prints one line per failure, then "validated N" (the responses judged);
// exits 1 when any failed.

import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const [docPath, recordsPath] = process.argv.slice(2);
const doc = YAML.parse(readFileSync(docPath, 'utf8'));
const DOC_ID = 'https://kanban.invalid/openapi.json';
doc.$id = DOC_ID;

const ajv = new Ajv2020({ strict: false, allErrors: true,
                          validateSchema: false, validateFormats: true });
addFormats(ajv);
ajv.addFormat('iso-week', /^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/);
ajv.addSchema(doc);

// The prefixes the document speaks for: what lies under them is judged.
const JUDGED = [/^\/api\//, /^\/hooks\//, /^\/health$/, /^\/metrics$/, /^\/s\//, /^\/auth\//,
                /^\/\.well-known\//];

// Path templates, the most literal first: /projects/import before
// /projects/{id}.
const routes = Object.keys(doc.paths).map((path) => {
  const segs = path.split('/');
  const re = new RegExp('^' + segs.map((s) => (/^\{.*\}$/.test(s)
      ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '$');
  return { path, re, literal: segs.filter((s) => !s.startsWith('{')).length };
}).sort((a, b) => b.literal - a.literal);

function deref(obj) {
  while (obj && obj.$ref) {
    obj = obj.$ref.slice(2).split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => o[k], doc);
  }
  return obj;
}

function pointer(parts) {
  return '#/' + parts.map((p) => String(p).replace(/~/g, '~0')
                                     .replace(/\//g, '~1')).join('/');
}

const validators = new Map();

function validatorFor(parts, schema) {
  const key = parts.join('\u0000');
  if (!validators.has(key)) {
    // a $ref schema by its target, an inline one by where it stands
    const ref = schema.$ref && schema.$ref.startsWith('#/')
      ? DOC_ID + schema.$ref : DOC_ID + pointer(parts);
    validators.set(key, ajv.getSchema(ref));
  }
  return validators.get(key);
}

// An event of the stream: {type, data} is a StreamEvent.
function judgeEvent(rec) {
  const where = `event ${rec.event}`;
  let data;
  try {
    data = JSON.parse(rec.body);
  } catch {
    return `${where}: the data is not JSON: ${rec.body.slice(0, 200)}`;
  }
  // the operators' stream has events of its own
  const name = rec.stream === 'platform' ? 'PlatformStreamEvent' : 'StreamEvent';
  const validate = validatorFor(['components', 'schemas', name],
                                { $ref: `#/components/schemas/${name}` });
  if (!validate) return `${where}: no ${name} in the document`;
  if (validate({ type: rec.event, data })) return 'ok';
  // oneOf's errors name every branch: the one of this type says why
  const mine = validate.errors.filter((e) => !/\/type$/.test(e.instancePath)
    && !(e.keyword === 'const' || e.keyword === 'enum'))
    .slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`
      + (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''));
  return `${where}: ${mine.join('; ') || `no branch of ${name}`}; data: ${rec.body.slice(0, 300)}`;
}

// A webhook's delivery, as its receiver got it: a WebhookBody.
function judgeWebhook(rec) {
  let body;
  try {
    body = JSON.parse(rec.body);
  } catch {
    return `webhook delivery: the body is not JSON: ${rec.body.slice(0, 200)}`;
  }
  const validate = validatorFor(['components', 'schemas', 'WebhookBody'],
                                { $ref: '#/components/schemas/WebhookBody' });
  if (!validate) return 'webhook delivery: no WebhookBody in the document';
  if (validate(body)) return 'ok';
  const why = validate.errors.filter((e) => !(e.keyword === 'const' || e.keyword === 'enum'))
    .slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`);
  return `webhook delivery ${body.type}: ${why.join('; ')}; body: ${rec.body.slice(0, 300)}`;
}

function judge(rec) {
  if (rec.webhook) return judgeWebhook(rec);
  if (rec.event !== undefined) return judgeEvent(rec);
  let path;
  try {
    path = decodeURI(rec.target.split('?')[0]);
  } catch {
    path = rec.target.split('?')[0];
  }
  const rawPath = rec.target.split('?')[0];
  if (!JUDGED.some((re) => re.test(rawPath))) return null;

  const where = `${rec.method} ${rec.target.slice(0, 120)} -> ${rec.status}`;
  const route = routes.find((r) => r.re.test(rawPath))
             || routes.find((r) => r.re.test(path));
  const method = rec.method.toLowerCase() === 'head' ? 'get'
                                                     : rec.method.toLowerCase();
  let op = route && doc.paths[route.path][method];
  let parts = route && ['paths', route.path, method];

  if (rec.method === 'OPTIONS' && rec.status === 204 && route
      && rec.length === 0) {
    // a CORS preflight from a listed origin, on any route (info: CORS)
    return 'ok';
  }

  if (!op || [414, 431].includes(rec.status)) {
    // not a documented operation: the router's (or nginx's) refusal;
    // a request line or headers too long, nginx's on any route (info)
    if (![400, 404, 405, 413, 414, 431, 494].includes(rec.status)) {
      return `${where}: no such operation in the document`;
    }
    // under /api/ always problem+json; nginx's own pages elsewhere
    const content = { 'application/problem+json': {
      schema: { $ref: '#/components/schemas/Problem' } } };
    if (!rawPath.startsWith('/api/')) content['text/html'] = {};
    op = { responses: { [rec.status]: { description: 'unrouted', content } } };
    parts = ['unrouted'];
  }

  let response = op.responses[String(rec.status)];
  if (!response) {
    return `${where}: status ${rec.status} is not documented for `
      + `${method.toUpperCase()} ${route ? route.path : rawPath}`
      + (rec.body ? `: ${rec.body.slice(0, 200)}` : '');
  }

  let respParts;
  if (response.$ref) {
    respParts = response.$ref.slice(2).split('/');
    response = deref(response);
  } else {
    respParts = [...parts, 'responses', String(rec.status)];
  }

  const content = response.content || {};
  const type = (rec.type || '').split(';')[0].trim().toLowerCase();

  if (Object.keys(content).length === 0) {
    if (rec.length > 0 && rec.method !== 'HEAD') {
      return `${where}: a body (${type}) where the document has none`;
    }
    return 'ok';
  }

  if (rec.method === 'HEAD' || (rec.length === 0 && !type)) {
    return rec.method !== 'HEAD' && (rec.status < 300 || rec.status > 399)
      ? `${where}: no body where the document has ${Object.keys(content)}`
      : 'ok';
  }

  const mediaKey = Object.keys(content).find((k) => k.toLowerCase() === type)
    || Object.keys(content).find((k) => k === '*/*'
        || (k.endsWith('/*') && type.startsWith(k.slice(0, -1))));
  if (!mediaKey) {
    return `${where}: media type "${type}" is not one of `
      + Object.keys(content).join(', ');
  }

  const schema = content[mediaKey].schema;
  if (!schema || rec.body === undefined) return 'ok';

  let body;
  try {
    body = JSON.parse(rec.body);
  } catch (e) {
    return `${where}: the body is not JSON: ${rec.body.slice(0, 200)}`;
  }

  const validate = validatorFor([...respParts, 'content', mediaKey, 'schema'],
                                schema);
  if (!validate) return `${where}: no schema at ${respParts.join('/')}`;
  if (validate(body)) return 'ok';

  const errors = validate.errors.slice(0, 5).map((e) =>
    `${e.instancePath || '/'} ${e.message}`
    + (e.params && e.params.additionalProperty
       ? ` (${e.params.additionalProperty})` : '')).join('; ');
  return `${where}: ${errors}; body: ${rec.body.slice(0, 300)}`;
}

let validated = 0;
let failed = 0;
const seen = new Set();

for (const line of readFileSync(recordsPath, 'utf8').split('\n')) {
  if (!line) continue;
  const rec = JSON.parse(line);
  let verdict;
  try {
    verdict = judge(rec);
  } catch (e) {
    verdict = `${rec.method} ${rec.target} -> ${rec.status}: ${e.message}`;
  }
  if (verdict === null) continue;
  validated++;
  if (verdict !== 'ok') {
    failed++;
    if (!seen.has(verdict)) {
      seen.add(verdict);
      console.log(verdict);
    }
  }
}

console.log(`validated ${validated}`);
process.exit(failed ? 1 : 0);
