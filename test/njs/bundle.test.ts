/**
 * The built bundle (dist/api_sessions.js) in the real njs CLI: its handlers run against request
 * objects made of plain values, and every record must equal, field for field, what the same
 * TypeScript sources produce in Node. An engine incompatibility (syntax, a missing method, a
 * different crypto or JSON result) fails here instead of in nginx.
 */
import { execFileSync } from 'child_process';
import { writeFileSync, readFileSync, rmSync, existsSync, cpSync } from 'fs';
import { join, resolve } from 'path';
import { currentEngine, engineTempDir, inEngine } from '../helpers/engines';
import { withNginxFacts } from '../helpers/nginx-facts';

// The glue's sources, run in Node (a require: its njs types are checked by src/njs/tsconfig.json).
// eslint-disable-next-line @typescript-eslint/no-var-requires
const handlers = require('../../src/njs/index').default;

const ROOT = resolve(__dirname, '..', '..');
const ENGINE = currentEngine();

interface Scenario {
  name: string;
  method: string;
  variables: Record<string, string>;
  headersIn: Record<string, string>;
  headersOut: Record<string, string | string[]>;
  requestText?: string;
  /** Response body chunks given to body_filter before the record is built. */
  chunks?: string[];
  /** Header names whose reading throws (request and response), to drive the failure paths. */
  throwing?: string[];
}

const base = {
  host: 'api.example',
  status: '200',
  request_time: '0.025',
  msec: '1763900000.250',
  bytes_sent: '512',
  request_id: 'req-1',
  remote_addr: '192.0.2.10',
  connection: '100',
  connection_requests: '2',
  api_sessions_secret: 'njs-secret',
};

const token =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' +
  Buffer.from(JSON.stringify({ sub: 'dana', role: 'admin', details: { username: 'dana@example.com', tags: ['a', 'b'] } })).toString('base64url') +
  '.c2lnbmF0dXJl';

const scenarioList: Scenario[] = [
  {
    name: 'fallback ip+ua',
    method: 'GET',
    variables: { ...base, request_uri: '/home?x=1' },
    headersIn: { 'User-Agent': 'Mozilla/5.0' },
    headersOut: {},
  },
  {
    name: 'params, jwt claims, hash, combined key',
    method: 'POST',
    variables: {
      ...base,
      request_uri: '/orders?token=t-1&q=caf%C3%A9+au+lait',
      content_length: '60',
      api_sessions_params:
        'request.header.x-tenant+request.cookie.uid group as tu; request.query.token group;' +
        ' request.header.authorization.jwt.sub user; request.header.authorization.jwt.role role;' +
        ' request.header.authorization.jwt.details.tags[1] as tag; request.query.q; request.body.json.card hash;' +
        ' request.body.json.items[0]["odd.key"] as odd',
    },
    headersIn: {
      'User-Agent': 'curl/8.0',
      Authorization: 'Bearer ' + token,
      Cookie: 'uid=u-1; theme=dark',
      'X-Tenant': 'acme',
      'Content-Type': 'application/json',
    },
    headersOut: {},
    requestText: '{"card":"4111111111111111","items":[{"odd.key":"v"}]}',
  },
  {
    name: 'bad config, bad query encoding, bad JSON, broken JWT',
    method: 'POST',
    variables: {
      ...base,
      request_uri: '/x?q=%zz',
      api_sessions_params: 'request.query.q; nope.x group; request.body.json.a; request.header.authorization.jwt.sub user',
    },
    headersIn: { 'User-Agent': 'ua', Authorization: 'Bearer x.y', 'Content-Type': 'application/json' },
    headersOut: {},
    requestText: '{"a": ',
  },
  {
    name: 'built-in cookie, Basic auth user only, attack content',
    method: 'GET',
    variables: { ...base, request_uri: "/search?q=' OR 1=1--", request: "GET /search?q=' OR 1=1-- HTTP/1.1", api_sessions_attack: 'sqli' },
    headersIn: { 'User-Agent': 'sqlmap', Cookie: 'JSESSIONID=ABCDEF0123456789', Authorization: 'Basic ' + Buffer.from('eve:secret:pw').toString('base64') },
    headersOut: {},
  },
  {
    name: 'response body token split across chunks, response cookie and header',
    method: 'POST',
    variables: {
      ...base,
      request_uri: '/login',
      api_sessions_params: 'response.body.json.token group; response.header.x-trace as trace; response.cookie.pref',
    },
    headersIn: { 'User-Agent': 'app/1' },
    headersOut: { 'Content-Type': 'application/json; charset=utf-8', 'X-Trace': 'tr-9', 'Set-Cookie': ['pref=compact; Path=/', 'other=1'] },
    chunks: ['{"user":"dana","tok', 'en":"resp-tok', 'en-1"}', ''],
  },
  {
    name: 'a handler path that throws',
    method: 'POST',
    variables: { ...base, request_uri: '/boom?token=x', api_sessions_params: 'response.body.json.token group' },
    headersIn: { 'User-Agent': 'ua' },
    headersOut: { 'Content-Type': 'application/json' },
    chunks: ['{"token":"t"}', ''],
    throwing: ['User-Agent', 'Content-Encoding'],
  },
  {
    name: 'pinned time, app, fingerprint',
    method: 'GET',
    variables: { ...base, request_uri: '/', api_sessions_now: '2026-01-31T23:59:59.999Z', api_sessions_app: 'shop', api_sessions_fingerprint: 'ja3-abc' },
    headersIn: { 'User-Agent': 'Mozilla/5.0' },
    headersOut: {},
  },
];

// The requests the quick path answers (index.ts), next to those it leaves to the pipeline.
const quick = (name: string, headersIn: Record<string, string>, variables: Record<string, string> = {}): Scenario => ({
  name: 'quick path: ' + name,
  method: 'GET',
  variables: { ...base, request_uri: '/q', ...variables },
  headersIn,
  headersOut: {},
});
scenarioList.push(
  quick('a built-in cookie', { 'User-Agent': 'UA/1', Cookie: 'theme=dark; sid=s-1; consent=yes' }),
  quick('an express cookie, encoded value', { 'User-Agent': 'UA/1', Cookie: 'connect.sid=s%3Aabc.def; a=1' }),
  quick('a re-spelled express cookie', { 'User-Agent': 'UA/1', Cookie: 'connect.sid = "s%3Aabc.def" ;a=1' }),
  quick('two built-in cookies', { 'User-Agent': 'UA/1', Cookie: 'sid=s-2; PHPSESSID=p-2' }),
  quick('a cookie sent twice', { 'User-Agent': 'UA/1', Cookie: 'sid=s-3; sid=s-4' }),
  quick('an encoded cookie name', { 'User-Agent': 'UA/1', Cookie: '%73id=s-5' }),
  quick('an empty built-in cookie', { 'User-Agent': 'UA/1', Cookie: 'sid=; a=1' }),
  quick('a bearer token, no cookie', { 'User-Agent': 'UA/1', Authorization: 'Bearer tok-1' }),
  quick('a bearer token and a cookie', { 'User-Agent': 'UA/1', Authorization: 'Bearer tok-1', Cookie: 'sid=s-6' }),
  quick('no User-Agent', {}),
  quick('no secret', { 'User-Agent': 'UA/1' }, { api_sessions_secret: '', connection_requests: '1', connection: '1' }),
);
// What nginx's include composes for the module ($api_sessions_facts, $api_sessions_app_value).
const scenarios: Scenario[] = scenarioList.map((s) => ({ ...s, variables: withNginxFacts(s.variables, s.headersIn, s.headersOut) }));

/** A request object of plain values, as njs would hand it to the handlers. */
function fakeRequestSource(): string {
  return `
function fakeRequest(s, log, sent) {
  var hin = {};
  var raw = [];
  Object.keys(s.headersIn).forEach(function (k) {
    hin[k] = s.headersIn[k];
    hin[k.toLowerCase()] = s.headersIn[k];
    raw.push([k, s.headersIn[k]]);
  });
  var hout = {};
  Object.keys(s.headersOut).forEach(function (k) {
    hout[k] = s.headersOut[k];
    hout[k.toLowerCase()] = s.headersOut[k];
  });
  (s.throwing || []).forEach(function (k) {
    var boom = { get: function () { throw new Error('cannot read ' + k); } };
    Object.defineProperty(hin, k, boom);
    Object.defineProperty(hout, k, boom);
  });
  return {
    variables: s.variables, method: s.method, headersIn: hin, headersOut: hout, rawHeadersIn: raw,
    requestText: s.requestText,
    warn: function (m) { log.push('warn: ' + m); },
    error: function (m) { log.push('error: ' + m); },
    sendBuffer: function (d, f) { sent.push({ data: String(d), last: !!(f && f.last) }); }
  };
}
function run(api, scenarios) {
  return scenarios.map(function (s) {
    var log = [];
    var sent = [];
    var r = fakeRequest(s, log, sent);
    (s.chunks || []).forEach(function (c, i) {
      api.body_filter(r, Buffer.from(c), { last: i === s.chunks.length - 1 });
    });
    var record = JSON.parse('{' + api.record(r) + '}');
    // A request the quick path may answer, also through the pipeline ("+": some other setting):
    // both must write the same part.
    var pipeline = null;
    if (!s.chunks && s.variables.api_sessions_facts.charAt(0) !== '+') {
      var vars = {};
      Object.keys(s.variables).forEach(function (k) { vars[k] = s.variables[k]; });
      vars.api_sessions_facts = '+' + s.variables.api_sessions_facts;
      var s2 = {};
      Object.keys(s).forEach(function (k) { s2[k] = s[k]; });
      s2.variables = vars;
      pipeline = JSON.parse('{' + api.record(fakeRequest(s2, [], [])) + '}');
    }
    return { name: s.name, record: record, pipeline: pipeline, log: log, sent: sent };
  });
}
`;
}

const runner = new Function('api', 'scenarios', fakeRequestSource() + '\nreturn run(api, scenarios);') as (
  api: unknown,
  s: Scenario[],
) => Array<{ name: string; record: any; pipeline: any; log: string[]; sent: Array<{ data: string; last: boolean }> }>;

const NJS = ENGINE.njs;
const describeNjs = NJS !== null ? describe : describe.skip;
if (NJS === null) console.log(`engine ${ENGINE.name}: no njs CLI: the bundle-in-njs tests are skipped (apt-get install njs)`);

describeNjs(`dist/api_sessions.js in the njs CLI of ${ENGINE.name}`, () => {
  let njsResults: ReturnType<typeof runner>;
  let dir: string;

  beforeAll(() => {
    expect(existsSync(join(ROOT, 'dist', 'api_sessions.js'))).toBe(true);
    // The engine may run in a Debian root: the bundle and the script go where it can see them.
    const tmp = engineTempDir(ENGINE, 'api-sessions-njs-');
    dir = tmp.host;
    cpSync(join(ROOT, 'dist', 'api_sessions.js'), join(dir, 'api_sessions.js'));
    writeFileSync(
      join(dir, 'run.mjs'),
      `import api from 'api_sessions.js';\nimport fs from 'fs';\n${fakeRequestSource()}\n` +
        // console.log cuts long lines in the CLI: write the results to a file
        `fs.writeFileSync(${JSON.stringify(tmp.inner + '/out.json')}, JSON.stringify(run(api, ${JSON.stringify(scenarios)})));\n`,
    );
    const njs = inEngine(ENGINE, (NJS as string[]).concat(['-p', tmp.inner, tmp.inner + '/run.mjs']));
    execFileSync(njs[0], njs.slice(1), { encoding: 'utf8' });
    njsResults = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test.each(scenarios.map((s) => s.name))('%s: njs record equals the Node record', (name) => {
    const i = scenarios.findIndex((s) => s.name === name);
    const inNode = runner(handlers, [scenarios[i]])[0];
    expect(njsResults[i].name).toBe(name);
    // Every engine gives the same record, errors included (the module words them, not the engine).
    expect(njsResults[i].record).toEqual(inNode.record);
    expect(njsResults[i].log).toEqual(inNode.log);
    expect(njsResults[i].sent).toEqual(inNode.sent);
    if (njsResults[i].pipeline !== null) expect(njsResults[i].record).toEqual(njsResults[i].pipeline);
  });

  test('the quick path and the pipeline write the same part, in Node too', () => {
    const results = runner(handlers, scenarios);
    expect(results.filter((r) => r.pipeline !== null).length).toBeGreaterThanOrEqual(11);
    for (const r of results) if (r.pipeline !== null) expect({ name: r.name, record: r.record }).toEqual({ name: r.name, record: r.pipeline });
    const by = (name: string) => results.find((r) => r.name === 'quick path: ' + name)!.record;
    // an express cookie's value is read decoded, however it is spelled: one session
    expect(by('a re-spelled express cookie').session).toBe(by('an express cookie, encoded value').session);
    expect(by('an express cookie, encoded value').key).toBe('request.cookie.connect.sid');
    expect(by('two built-in cookies').key).toBe('request.cookie.PHPSESSID');
    expect(by('a bearer token, no cookie').key).toBe('request.header.authorization');
    expect(by('a bearer token and a cookie').key).toBe('request.cookie.sid');
    expect(by('a cookie sent twice').errors).toEqual(['request.cookie.sid: sent more than once; the first is used']);
  });

  test('the records say what they should', () => {
    const byName = (n: string) => njsResults.find((r) => r.name === n)!.record;
    const p = byName('params, jwt claims, hash, combined key');
    expect(p.key).toBe('tu');
    expect(p.user).toBe('dana');
    expect(p.role).toBe('admin');
    expect(p.params.tag).toBe('b');
    expect(p.params['request.query.q']).toBe('café au lait');
    expect(p.params.odd).toBe('v');
    expect(p.params['request.body.json.card']).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(p)).not.toContain('4111111111111111');

    const bad = njsResults.find((r) => r.name === 'bad config, bad query encoding, bad JSON, broken JWT')!;
    expect(bad.record.errors).toEqual([
      'config: $api_sessions_params entry 2 "nope.x group": unknown selector "nope.x": expected request.header|cookie|query|body.json|body.form.NAME or response.header|cookie|body.json.NAME',
      'request.query.q: invalid percent-encoding',
      'request.body.json: not valid JSON', // the same words on every engine, never the body's text
      'request.header.authorization.jwt.sub: not a JWT (expected header.payload.signature)',
    ]);
    expect(bad.log).toEqual([]); // connection 100, request 2: no error-log message for this one

    const atk = byName('built-in cookie, Basic auth user only, attack content');
    expect(atk.key).toBe('request.cookie.JSESSIONID');
    expect(atk.attack).toEqual(['sqli']);
    expect(atk.request.line).toBe("GET /search?q=' OR 1=1-- HTTP/1.1");
    expect(JSON.stringify(atk)).not.toContain('ABCDEF0123456789');
    expect(JSON.stringify(atk)).not.toContain(Buffer.from('eve:secret:pw').toString('base64'));

    const resp = njsResults.find((r) => r.name === 'response body token split across chunks, response cookie and header')!;
    expect(resp.record.key).toBe('response.body.json.token');
    expect(resp.record.params.trace).toBe('tr-9');
    expect(resp.record.params['response.cookie.pref']).toBe('compact');
    expect(resp.sent.map((s) => s.data).join('')).toBe('{"user":"dana","token":"resp-token-1"}');
    expect(resp.sent[resp.sent.length - 1].last).toBe(true);

    // the failure paths: the chunks still went out unchanged, and the record still parses,
    // names the failure and keeps the request in an IP session
    const boom = njsResults.find((r) => r.name === 'a handler path that throws')!;
    expect(boom.sent).toEqual([
      { data: '{"token":"t"}', last: false },
      { data: '', last: true },
    ]);
    // what could not be read before the failure stays in the record, the failure last
    expect(boom.record.errors).toEqual(['response.body: not read (cannot read Content-Encoding)', 'internal: cannot read User-Agent']);
    expect(boom.record.key).toBe('ip');
    expect(boom.record.session).toMatch(/^[0-9a-f]{32}$/);
    expect(boom.log).toEqual(['error: api_sessions: record failed: internal: cannot read User-Agent']);

    const pinned = byName('pinned time, app, fingerprint');
    expect(pinned.ts).toBe('2026-01-31T23:59:59.999Z');
    expect(pinned.part).toBe('2026-01-31');
    // the application ($api_sessions_app) is part of the session id
    expect(pinned.session).toBe(require('crypto').createHmac('sha256', 'njs-secret').update('s\nshop\n\u0001192.0.2.10\u001fMozilla/5.0\u001fja3-abc').digest('hex').slice(0, 32));
    expect(pinned.key).toBe('ip+ua+fingerprint');
  });
});
