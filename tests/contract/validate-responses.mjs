// A second opinion on csrd's answers: every JSON body the HTTP suite received (recorded by
// the harness as DIR/responses-PID, NDJSON {op, status, type, body}, when
// CSRD_TEST_COVERAGE_DIR is set) is validated by Ajv (JSON Schema 2020-12, with formats)
// against the schema the spec documents for that operation, status and content type. The
// harness's own validator checks types, enums, required and undocumented members; this one
// also holds formats, patterns, ranges and lengths. Usage: node validate-responses.mjs DIR
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml'); // a dependency of @redocly/cli
const dir = process.argv[2];
if (!dir) { console.error('usage: node validate-responses.mjs DIR'); process.exit(2); }
const specPath = new URL('../../api-spec/openapi.yaml', import.meta.url);
const spec = yaml.load(readFileSync(specPath, 'utf8'));

const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ ...spec, $id: 'spec' });

const ops = new Map(); // operationId -> JSON pointer of its operation
for (const [p, item] of Object.entries(spec.paths)) {
  for (const [m, op] of Object.entries(item)) {
    if (op && op.operationId) ops.set(op.operationId, `/paths/${p.replaceAll('~', '~0').replaceAll('/', '~1')}/${m}`);
  }
}
const esc = (s) => s.replaceAll('~', '~0').replaceAll('/', '~1');
const at = (ptr) => ptr.split('/').slice(1).reduce((o, k) => o?.[k.replaceAll('~1', '/').replaceAll('~0', '~')], spec);

// the pointer of the schema for op/status/type, following a response $ref
function schemaPointer(opId, status, type) {
  const opPtr = ops.get(opId);
  if (!opPtr) return null;
  const responses = at(`${opPtr}/responses`) || {};
  const code = String(status) in responses ? String(status) : ('default' in responses ? 'default' : null);
  if (!code) return null;
  let respPtr = `${opPtr}/responses/${esc(code)}`;
  const ref = at(respPtr)?.$ref;
  if (ref) respPtr = ref.slice(1);
  const content = at(`${respPtr}/content`) || {};
  const media = type.split(';')[0].trim();
  if (!(media in content) || !content[media].schema) return null;
  return `${respPtr}/content/${esc(media)}/schema`;
}

const validators = new Map();
let checked = 0, failed = 0, undocumented = 0;
const files = readdirSync(dir).filter((f) => f.startsWith('responses-'));
if (files.length === 0) { console.error(`no responses-* files in ${dir}`); process.exit(1); }
for (const f of files) {
  for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
    if (!line) continue;
    const { op, status, type, body } = JSON.parse(line);
    const ptr = schemaPointer(op, status, type);
    if (!ptr) { undocumented++; continue; } // the harness reports these itself
    let v = validators.get(ptr);
    if (!v) { v = ajv.compile({ $ref: `spec#${ptr}` }); validators.set(ptr, v); }
    checked++;
    if (!v(body)) {
      failed++;
      if (failed <= 20) {
        console.error(`${op} ${status} ${type}: ${ajv.errorsText(v.errors, { separator: '; ' })}`);
        console.error(`  body: ${JSON.stringify(body).slice(0, 300)}`);
      }
    }
  }
}
console.log(`validate-responses: ${checked} responses checked by Ajv, ${failed} did not match ` +
            `the spec (${undocumented} without a documented JSON schema, left to the harness)`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);
