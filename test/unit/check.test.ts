/**
 * The configuration check (src/check): configurations as `nginx -T` prints them, with the real
 * nginx/api_sessions.conf as the include, and what the check says about each, by file and line.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { checkDump, formatFinding } from '../../src/check/check';
import { readDump, splitDump, parseFile, globToRegExp, ReadError, Directive } from '../../src/check/nginx-conf';

const ROOT = join(__dirname, '..', '..');
const MODULE = '/opt/api-sessions/nginx/api_sessions.conf';
const MODULE_TEXT = readFileSync(join(ROOT, 'nginx', 'api_sessions.conf'), 'utf8');
const NGINX_CONF = '/etc/nginx/nginx.conf';

/** The line of `text` in the module's file that starts with `start`. */
function moduleLine(start: string): number {
  const i = MODULE_TEXT.split('\n').findIndex((l) => l.startsWith(start));
  if (i < 0) throw new Error(`api_sessions.conf has no line starting "${start}"`);
  return i + 1;
}

/** An `nginx -T` output: each file under its header, as nginx prints it (with a newline more). */
function dump(files: Record<string, string>): string {
  return Object.entries(files).map(([path, text]) => `# configuration file ${path}:\n${text}\n`).join('');
}

/** nginx.conf with `http` as its http block's body, and the module's file. */
function withHttp(http: string, more: Record<string, string> = {}): string {
  return dump({ [NGINX_CONF]: `events {}\nhttp {\n${http}\n}\n`, [MODULE]: MODULE_TEXT, ...more });
}

/** The findings as the command prints them. */
function check(text: string): string[] {
  return checkDump(text).map(formatFinding);
}

const INCLUDE = `    js_path /opt/api-sessions/dist/;\n    include ${MODULE};`;
const SERVER = `    server {\n        listen 80;\n        access_log /var/log/nginx/api_sessions.log api_sessions;\n    }`;

describe('settings declared before the include', () => {
  test('a map of $api_sessions_params before the include is named, with the declaration that replaces it and the include', () => {
    const text = withHttp(`    map $host $api_sessions_params {\n        default 'request.header.authorization.jwt.sub user';\n    }\n${INCLUDE}\n${SERVER}`);
    // http's body starts on line 3: the map is there, the include on line 7
    expect(check(text)).toEqual([
      `${NGINX_CONF}:3: error: map $api_sessions_params is replaced by the include's declaration at ${MODULE}:${moduleLine('js_var $api_sessions_params;')} (included at ${NGINX_CONF}:7); move it after the include`,
    ]);
  });

  test('the same map after the include is what nginx keeps: nothing to say', () => {
    const text = withHttp(`${INCLUDE}\n    map $host $api_sessions_params {\n        default 'request.header.authorization.jwt.sub user';\n    }\n${SERVER}`);
    expect(check(text)).toEqual([]);
  });

  test('js_var, js_set and geo of settings before the include, also from a file included earlier', () => {
    const text = withHttp(
      `    include conf.d/*.conf;\n    js_set $api_sessions_app main.app;\n    geo $api_sessions_attack {\n        default '';\n        10.0.0.0/8 scan;\n    }\n${INCLUDE}\n${SERVER}`,
      { '/etc/nginx/conf.d/early.conf': "# settings\njs_var $api_sessions_max_body 128k;\n" },
    );
    expect(check(text)).toEqual([
      `/etc/nginx/conf.d/early.conf:2: error: js_var $api_sessions_max_body is replaced by the include's declaration at ${MODULE}:${moduleLine('js_var $api_sessions_max_body;')} (included at ${NGINX_CONF}:10); move it after the include`,
      `${NGINX_CONF}:4: error: js_set $api_sessions_app is replaced by the include's declaration at ${MODULE}:${moduleLine('js_var $api_sessions_app;')} (included at ${NGINX_CONF}:10); move it after the include`,
      `${NGINX_CONF}:5: error: geo $api_sessions_attack is replaced by the include's declaration at ${MODULE}:${moduleLine('js_var $api_sessions_attack;')} (included at ${NGINX_CONF}:10); move it after the include`,
    ]);
  });

  test('variables of the operator\'s own, and the same names in a stream block, are not the include\'s', () => {
    const text = dump({
      [NGINX_CONF]: `events {}\nstream {\n    map $remote_addr $api_sessions_params { default x; }\n}\nhttp {\n    map $host $my_params { default 'x'; }\n${INCLUDE}\n${SERVER}\n}\n`,
      [MODULE]: MODULE_TEXT,
    });
    expect(check(text)).toEqual([]);
  });
});

describe("the include's place", () => {
  test('inside a server: where it belongs', () => {
    const text = withHttp(`    js_path /opt/api-sessions/dist/;\n    server {\n        include ${MODULE};\n        access_log /var/log/nginx/api_sessions.log api_sessions;\n    }`);
    expect(check(text)).toEqual([
      `${NGINX_CONF}:5: error: api_sessions.conf is included inside server: it belongs in the http block, once, before the servers that log with its format`,
    ]);
  });

  test('inside a location', () => {
    const text = withHttp(`    server {\n        location / {\n            include ${MODULE};\n        }\n    }`);
    expect(check(text)).toEqual([expect.stringMatching(new RegExp(`^${NGINX_CONF}:5: error: api_sessions.conf is included inside location: `))]);
  });

  test('missing while a server logs with the api_sessions format', () => {
    const text = dump({
      [NGINX_CONF]: `events {}\nhttp {\n    log_format api_sessions '$remote_addr';\n    server {\n        access_log /var/log/nginx/a.log api_sessions;\n    }\n}\n`,
    });
    expect(check(text)).toEqual([
      `${NGINX_CONF}:5: error: the api_sessions log format is used but api_sessions.conf is not included: include it in the http block, before the servers that log with its format`,
    ]);
  });

  test('a copy under another name is recognized by its log format', () => {
    const text = dump({
      [NGINX_CONF]: `events {}\nhttp {\n    map $host $api_sessions_params { default x; }\n    include /etc/nginx/api-sessions-copy.conf;\n${SERVER}\n}\n`,
      '/etc/nginx/api-sessions-copy.conf': MODULE_TEXT,
    });
    expect(check(text)).toEqual([
      expect.stringMatching(/^\/etc\/nginx\/nginx\.conf:3: error: \$api_sessions_params entry 1 "x": unknown selector "x"/),
      expect.stringMatching(/^\/etc\/nginx\/nginx\.conf:3: error: map \$api_sessions_params is replaced by the include's declaration at \/etc\/nginx\/api-sessions-copy\.conf:\d+ \(included at \/etc\/nginx\/nginx\.conf:4\)/),
    ]);
  });
});

describe("values, read by the module's own parser", () => {
  test('set: each bad entry at its own line, with the parser\'s message; the good ones say nothing', () => {
    const text = withHttp(`${INCLUDE}\n    server {\n        set $api_sessions_params '\n            request.cookie.sid group;\n            bogus.thing group;\n            request.query.x hash as';\n    }`);
    expect(check(text)).toEqual([
      `${NGINX_CONF}:8: error: $api_sessions_params entry 2 "bogus.thing group": unknown selector "bogus.thing": expected request.header|cookie|query|body.json|body.form.NAME or response.header|cookie|body.json.NAME`,
      `${NGINX_CONF}:9: error: $api_sessions_params entry 3 "request.query.x hash as": "as" needs a name`,
    ]);
  });

  test('map values, js_var initial values, extra params and the sizes', () => {
    const text = withHttp(
      `${INCLUDE}\n    map $host $api_sessions_params {\n        hostnames;\n        default 'request.cookie.sid group';\n        shop.example.com 'request.cookie.sid group grup';\n    }\n` +
        `    js_var $api_sessions_extra_params 'a.b.c+request.query.id group';\n    server {\n        set $api_sessions_max_body 64q;\n        set $api_sessions_max_value 2048;\n    }`,
    );
    expect(check(text)).toEqual([
      `${NGINX_CONF}:8: error: $api_sessions_params entry 1 "request.cookie.sid group grup": unknown flag "grup" (expected group, user, role, hash or as NAME)`,
      expect.stringMatching(new RegExp(`^${NGINX_CONF}:10: error: \\$api_sessions_extra_params entry 1 "a.b.c\\+request.query.id group": unknown selector "a.b.c"`)),
      `${NGINX_CONF}:12: error: $api_sessions_max_body "64q" is not a size from 0 to 16m; using 65536`,
    ]);
  });

  test('a value with a variable in it is only known at request time: not checked', () => {
    const text = withHttp(`${INCLUDE}\n    server {\n        set $api_sessions_params '$http_x_params bogus';\n        set $api_sessions_params "\${mine} bogus";\n    }`);
    expect(check(text)).toEqual([]);
  });

  test("nginx's escapes are applied before parsing: a JSON path in [\"...\"] with a quote escaped", () => {
    const text = withHttp(`${INCLUDE}\n    server {\n        set $api_sessions_params "request.body.json[\\"odd.name\\"] group; request.cookie.sid gruop";\n    }`);
    expect(check(text)).toEqual([
      `${NGINX_CONF}:6: error: $api_sessions_params entry 2 "request.cookie.sid gruop": unknown flag "gruop" (expected group, user, role, hash or as NAME)`,
    ]);
  });
});

describe("the operator's access log", () => {
  const http = (server: string) => withHttp(`    access_log /var/log/nginx/access.log;\n${INCLUDE}\n    server {\n${server}\n    }`);

  test("a server whose only access_log is the module's loses http's: a warning naming it", () => {
    expect(check(http('        access_log /var/log/nginx/api_sessions.log api_sessions buffer=64k;'))).toEqual([
      `${NGINX_CONF}:7: warning: the only access_log here is the api_sessions one, so the access_log at ${NGINX_CONF}:3 no longer applies here (nginx writes only the innermost level's logs): name it here too`,
    ]);
  });

  test("the server in a file of conf.d, http's access_log in nginx.conf (Debian's layout)", () => {
    const text = dump({
      [NGINX_CONF]: `events {}\nhttp {\n    access_log /var/log/nginx/access.log;\n    include /etc/nginx/conf.d/*.conf;\n}\n`,
      '/etc/nginx/conf.d/site.conf': `${INCLUDE}\n${SERVER}\n`,
      [MODULE]: MODULE_TEXT,
    });
    expect(check(text)).toEqual([expect.stringMatching(new RegExp(`^/etc/nginx/conf.d/site.conf:5: warning: .* the access_log at ${NGINX_CONF}:3 no longer applies here`))]);
  });

  test('named again in the server, or none at http level: nothing to say', () => {
    expect(check(http('        access_log /var/log/nginx/access.log;\n        access_log /var/log/nginx/api_sessions.log api_sessions;'))).toEqual([]);
    expect(check(withHttp(`${INCLUDE}\n${SERVER}`))).toEqual([]);
  });

  test("a location with only the module's log, under a server with the operator's", () => {
    const text = http('        access_log /var/log/nginx/site.log;\n        location /api {\n            access_log /var/log/nginx/api_sessions.log api_sessions;\n        }');
    expect(check(text)).toEqual([expect.stringMatching(new RegExp(`^${NGINX_CONF}:9: warning: .* the access_log at ${NGINX_CONF}:7 no longer applies here`))]);
  });

  test('http-level access_log off is no log to lose', () => {
    const text = withHttp(`    access_log off;\n${INCLUDE}\n${SERVER}`);
    expect(check(text)).toEqual([]);
  });
});

describe('reading nginx -T', () => {
  test("nginx's own lines before the first file are not configuration; the files keep their lines", () => {
    const files = splitDump('nginx: the configuration file /x/nginx.conf syntax is ok\n' + dump({ '/x/nginx.conf': 'a;\nb;\n', '/x/b.conf': 'c;' }));
    expect(files).toEqual([
      { path: '/x/nginx.conf', text: 'a;\nb;\n' },
      { path: '/x/b.conf', text: 'c;' },
    ]);
  });

  test('anything else is not a dump (exit status 2 in the command)', () => {
    expect(() => splitDump('http { }\n')).toThrow(ReadError);
  });

  // \; keeps its backslash (nginx unescapes only \" \' \\ \t \r \n) but ends no word.
  test("tokens as nginx reads them: quotes, escapes, comments, ${var}, '#' inside a word", () => {
    const ds = parseFile({
      path: '/x/nginx.conf',
      text: "a 'one two' \"th\\\"ree\" #comment\n  f\\;our;\nb ${x}y a#b {\n  c 'multi\nline' d;\n}\n",
    });
    const shape = (list: Directive[]): unknown => list.map((d) => [d.name, d.args, d.line, d.argLines, d.block ? shape(d.block) : null]);
    expect(shape(ds)).toEqual([
      ['a', ['one two', 'th"ree', 'f\\;our'], 1, [1, 1, 2], null],
      ['b', ['${x}y', 'a#b'], 3, [3, 3], [['c', ['multi\nline', 'd'], 4, [4, 5], null]]],
    ]);
  });

  test('an unbalanced file is refused with its file and line', () => {
    expect(() => parseFile({ path: '/x/a.conf', text: 'http {\n  a;\n' })).toThrow('/x/a.conf:3: unexpected end of file, expecting "}"');
    expect(() => parseFile({ path: '/x/a.conf', text: "a 'b;\n" })).toThrow(ReadError);
  });

  test("includes: relative to the main file's folder, patterns in name order, expanded in place", () => {
    const top = readDump(dump({
      '/etc/nginx/nginx.conf': 'http {\n    include conf.d/*.conf;\n    include /etc/nginx/extra.conf;\n}\n',
      '/etc/nginx/conf.d/b.conf': 'b;\n',
      '/etc/nginx/conf.d/a.conf': 'a;\n',
      '/etc/nginx/conf.d/sub/c.conf': 'c;\n',
      '/etc/nginx/extra.conf': 'x;\n',
    }));
    const [include, extra] = top[0].block!;
    expect(include.files).toEqual(['/etc/nginx/conf.d/a.conf', '/etc/nginx/conf.d/b.conf']);
    expect(include.included!.map((d) => [d.name, d.file, d.line])).toEqual([['a', '/etc/nginx/conf.d/a.conf', 1], ['b', '/etc/nginx/conf.d/b.conf', 1]]);
    expect(extra.included!.map((d) => d.name)).toEqual(['x']);
  });

  test('glob patterns as glob(3): * and ? within a segment, [...] and [!...]', () => {
    expect(globToRegExp('/a/*.conf').test('/a/x.y.conf')).toBe(true);
    expect(globToRegExp('/a/*.conf').test('/a/b/x.conf')).toBe(false);
    expect(globToRegExp('/a/?.conf').test('/a/xy.conf')).toBe(false);
    expect(globToRegExp('/a/[ab].conf').test('/a/b.conf')).toBe(true);
    expect(globToRegExp('/a/[!ab].conf').test('/a/b.conf')).toBe(false);
    expect(globToRegExp('/a/(x)+.conf').test('/a/(x)+.conf')).toBe(true);
  });
});
