/**
 * The redaction corpus through the real nginx: every encoding of a secret the security review
 * (issue 13) found readable in a malicious request's content, credentials recognised by name
 * whatever their length, and records that stay valid UTF-8 JSON whatever bytes arrive.
 * Asserted on the bytes nginx wrote.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { currentEngine } from '../helpers/engines';
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request, rawRequest, expectedHash, Reply } from '../helpers/http';

const SECRET = 'redaction-secret';
const INVALID_UTF8 = 'record: invalid UTF-8 replaced with U+FFFD';

let up: Upstream;
let ng: Nginx;

// The README's configuration, plus a hashed password.
const PARAMS = [
  'response.body.json.token group',
  'request.query.token group',
  'request.body.json.token group',
  'request.header.authorization.jwt.sub user',
  'request.header.authorization.jwt.role role',
  'request.body.json.email hash',
  'request.body.json.password hash',
].join(';\n    ');

beforeAll(async () => {
  up = await startUpstream();
  ng = await startNginx({
    ports: 2,
    http: `
    ${upstreamLines(up.port, { keepalive: 8 })}
    client_body_buffer_size 64k;

    server {
        ${recordingLines({ secret: SECRET, app: 'shop' })}
        set $api_sessions_attack $http_x_test_attack;
        set $api_sessions_params '
    ${PARAMS}';
        location / { proxy_pass http://app; }
    }

    # The application id is the Host, as by default.
    server {
        ${recordingLines({ secret: SECRET, listen: '{{PORT1}}', log: 'default_app.log' })}
        set $api_sessions_attack $http_x_test_attack;
        location / { proxy_pass http://app; }
    }
`,
  });
});

afterAll(async () => {
  if (ng) await ng.stop();
  if (up) await up.close();
});

/** The raw line nginx wrote for a reply, and its record. */
async function lineOf(reply: Reply | string, log = 'api_sessions.log'): Promise<{ line: string; rec: any }> {
  const id = typeof reply === 'string' ? /X-Request-Id: (\w+)/i.exec(reply)![1] : String(reply.headers['x-request-id']);
  const rec = await ng.recordById(id, log);
  const bytes = readFileSync(join(ng.prefix, 'logs', log));
  // Strict: a line with invalid UTF-8 throws here.
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const line = text.split('\n').find((l) => l.indexOf(id) >= 0)!;
  JSON.parse(line);
  return { line, rec };
}

function attack(path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return request(ng.url(path), {
    method: body === undefined ? 'GET' : 'POST',
    headers: Object.assign({ 'x-test-attack': 'sqli' }, headers),
    body,
  });
}

const hmac = (v: string) => '[hmac:' + expectedHash(SECRET, v) + ']';

describe('secrets in any encoding (finding 1)', () => {
  const jsonCases: Array<[string, string, string, string[]]> = [
    // [what, raw JSON body, the value the application reads, fragments that must not remain]
    ['\\u escapes (Python requests)', '{"password":"p\\u00e4ssw\\u00f6rd-Zz"}', 'pässwörd-Zz', ['p\\u00e4ssw', 'rd-Zz', 'pässw']],
    ['an escaped slash (PHP json_encode)', '{"password":"sl\\/ash-Pw9"}', 'sl/ash-Pw9', ['sl\\/ash', 'ash-Pw9']],
    ['escaped quote and backslash, raw UTF-8', '{"password":"pa\\"ss\\\\wörd"}', 'pa"ss\\wörd', ['ss\\\\w', 'wörd']],
    ['a grouping token with an escaped slash', '{"token":"tok\\/en-Body42"}', 'tok/en-Body42', ['tok\\/en', 'en-Body42']],
  ];
  test.each(jsonCases)('JSON body, %s', async (_what, body, value, fragments) => {
    const { line, rec } = await lineOf(await attack('/echo/login', { 'content-type': 'application/json' }, body));
    expect(rec.request.body).toContain(hmac(value));
    for (const f of fragments) expect(line).not.toContain(f);
  });

  test('a form body with + and percent-encoding', async () => {
    const body = 'user=bob&password=my+secret+pass%21&comment=%27+OR+1%3D1--';
    const { line, rec } = await lineOf(await attack('/echo/form', { 'content-type': 'application/x-www-form-urlencoded' }, body));
    expect(rec.request.body).toBe('user=bob&password=' + hmac('my secret pass!') + '&comment=%27+OR+1%3D1--');
    expect(line).not.toContain('secret+pass');
  });

  test.each([
    ['abc/def+ghi%3D%3D', 'abc/def ghi=='],
    ['lower%2fcase%2ftoken99', 'lower/case/token99'],
  ])('a session token in the query: %s', async (raw, value) => {
    const { line, rec } = await lineOf(await attack('/search?q=%27%20OR%201%3D1--&token=' + raw, {}));
    expect(rec.request.line).toBe('GET /search?q=%27%20OR%201%3D1--&token=' + hmac(value) + ' HTTP/1.1');
    expect(line).not.toContain(raw);
    expect(line).not.toContain(value);
  });

  test('the token is hidden wherever else it appears, in another spelling', async () => {
    const reply = await attack(
      '/echo/x?token=lower%2fcase%2ftoken99',
      { referer: 'http://shop.example/back?next=LOWER%2Fcase', 'x-note': 'lower%2Fcase%2Ftoken99', 'content-type': 'application/json' },
      '{"note":"lower\\/case\\/token99","other":"lower%2Fcase%2Ftoken99"}',
    );
    const { line, rec } = await lineOf(reply);
    expect(line).not.toMatch(/token99/i);
    expect(rec.request.headers).toContainEqual(['x-note', hmac('lower/case/token99')]);
    expect(rec.request.body).toBe('{"note":"' + hmac('lower/case/token99') + '","other":"' + hmac('lower/case/token99') + '"}');
    // not a secret: stays
    expect(rec.request.headers).toContainEqual(['referer', 'http://shop.example/back?next=LOWER%2Fcase']);
  });
});

describe('credentials by name, whatever their length (finding 2)', () => {
  test('short built-in session cookies', async () => {
    const { line, rec } = await lineOf(await attack('/x', { cookie: 'PHPSESSID=abc123; JSESSIONID=jsess77; sid=Zz9; theme=dark' }));
    const cookie = rec.request.headers.find((h: string[]) => h[0].toLowerCase() === 'cookie')[1];
    expect(cookie).toBe('PHPSESSID=' + hmac('abc123') + '; JSESSIONID=' + hmac('jsess77') + '; sid=' + hmac('Zz9') + '; theme=dark');
    for (const v of ['abc123', 'jsess77', 'Zz9']) expect(line).not.toContain(v);
  });

  test('a short hashed password', async () => {
    const { line, rec } = await lineOf(await attack('/echo/login', { 'content-type': 'application/json' }, '{"user":"bob","password":"pw1"}'));
    expect(rec.request.body).toBe('{"user":"bob","password":"' + hmac('pw1') + '"}');
    expect(line).not.toContain('pw1');
  });

  test('X-CSRF-Token, X-Amz-Security-Token, X-Forwarded-Authorization', async () => {
    const { line, rec } = await lineOf(
      await attack('/x', { 'x-csrf-token': 'c1', 'x-amz-security-token': 'FwoGZXIvYXdzEAMaDamz', 'x-forwarded-authorization': 'Bearer fwd-Q3' }),
    );
    expect(rec.request.headers).toContainEqual(['x-csrf-token', hmac('c1')]);
    expect(rec.request.headers).toContainEqual(['x-amz-security-token', hmac('FwoGZXIvYXdzEAMaDamz')]);
    expect(rec.request.headers).toContainEqual(['x-forwarded-authorization', 'Bearer ' + hmac('fwd-Q3')]);
    expect(line).not.toContain('FwoGZXIvYXdzEAMaDamz');
    expect(line).not.toContain('fwd-Q3');
  });

  test('api_key and access_token in the query; the payload stays readable', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl';
    const { line, rec } = await lineOf(await attack('/api?api_key=k9&access_token=' + jwt + '&q=%27%20OR%201%3D1--', {}));
    expect(rec.request.line).toBe('GET /api?api_key=' + hmac('k9') + '&access_token=' + hmac(jwt) + '&q=%27%20OR%201%3D1-- HTTP/1.1');
    expect(line).not.toContain(jwt);
  });
});

describe('valid UTF-8 whatever bytes arrive (finding 5)', () => {
  const bad = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80])];

  test.each(bad.map((b) => [b.toString('hex'), b]))('bytes %s in the User-Agent, a header and the body', async (_hex, b) => {
    const body = Buffer.concat([Buffer.from('x='), b as Buffer]);
    const head = Buffer.concat([
      Buffer.from('POST /p HTTP/1.1\r\nHost: app'),
      Buffer.from('\r\nUser-Agent: ua'),
      b as Buffer,
      Buffer.from('\r\nX-Other: o'),
      b as Buffer,
      Buffer.from('\r\nX-Test-Attack: xss\r\nContent-Length: ' + body.length + '\r\nConnection: close\r\n\r\n'),
    ]);
    const reply = await rawRequest(ng.ports[1], Buffer.concat([head, body]));
    const { rec } = await lineOf(reply, 'default_app.log');
    expect(rec.errors).toContain(INVALID_UTF8);
    // each invalid sequence became U+FFFD; valid bytes around it stay
    // An encoded surrogate (ed a0 80) is three replaced bytes to a UTF-8 decoder, but QuickJS
    // reads it as one unpaired surrogate, which becomes one U+FFFD: valid either way.
    const expected = currentEngine().qjs && (b as Buffer).toString('hex') === 'eda080' ? '\ufffd' : (b as Buffer).toString('utf8');
    expect(expected).toContain('\ufffd');
    expect(rec.ua).toBe('ua' + expected);
    expect(rec.request.headers).toContainEqual(['X-Other', 'o' + expected]);
    expect(rec.request.body).toBe('x=' + expected);
  });

  test.each(bad.map((b) => [b.toString('hex'), b]))('bytes %s in the Host: nginx 1.22 passes them (the record has U+FFFD), newer nginx refuses the request (400), a valid record either way', async (_hex, b) => {
    const head = Buffer.concat([Buffer.from('GET /h HTTP/1.1\r\nHost: a'), b as Buffer, Buffer.from('pp\r\nUser-Agent: ua\r\nConnection: close\r\n\r\n')]);
    const { rec } = await lineOf(await rawRequest(ng.ports[1], head), 'default_app.log');
    if (rec.status === 400) {
      expect(rec.app).toBe('');
    } else {
      expect(rec.app).toBe('a' + (b as Buffer).toString('utf8') + 'pp');
      expect(rec.errors).toContain(INVALID_UTF8);
    }
  });

  test('without an attack too; valid non-ASCII text is kept and no error is reported', async () => {
    const bytes = Buffer.concat([Buffer.from('GET /q HTTP/1.1\r\nHost: app\r\nUser-Agent: \xff\r\nConnection: close\r\n\r\n', 'latin1')]);
    const { rec } = await lineOf(await rawRequest(ng.ports[1], bytes), 'default_app.log');
    expect(rec.ua).toBe('\ufffd');
    expect(rec.errors).toEqual([INVALID_UTF8]);
    const ok = await lineOf(await request(ng.url('/q', 1), { headers: { 'user-agent': Buffer.from('Müller-Browser ☃', 'utf8').toString('latin1') } }), 'default_app.log');
    expect(ok.rec.ua).toBe('Müller-Browser ☃');
    expect(ok.rec.errors).toEqual([]);
  });
});
