/**
 * The benchmark's requests, shared by the wrk load (bench/run.ts) and the instruction count of
 * the njs handlers (bench/instructions.ts), so both measure the same work; and the check for the
 * commands both need.
 */
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import http from 'http';

// A JWT with the claims the headers location reads (unsigned: the module does not check signatures).
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
export const JWT = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ sub: 'user-42', role: 'customer', sid: 'jwt-sess-9', iat: 1763900000 }) + '.c2ln';

export const GET_HEADERS: Record<string, string> = {
  'User-Agent': 'Mozilla/5.0 (bench) Firefox/128.0',
  Cookie: 'sid=sess-4f2a9b7c1d; theme=dark; consent=yes; _ga=GA1.2.123.456',
  'X-Session': 'hs-77aa',
  'X-Request-Tag': 'tag-1',
  Authorization: 'Bearer ' + JWT,
  Accept: 'application/json',
};
export const GET_PATH = '/items/42?q=winter+boots&page=2';

export const POST_BODY = JSON.stringify({
  token: 'req-token-5b1e',
  email: 'someone@example.com',
  coupon: 'WINTER',
  address: { street: '1 Main St', city: 'Springfield', country: 'US', zip: '12345' },
  cart: {
    total: 129.5,
    currency: 'USD',
    items: [
      { sku: 'A-1', qty: 1, price: 19.5, title: 'A thing with a long enough title to take some room' },
      { sku: 'B-2', qty: 2, price: 40, title: 'Another thing with a long enough title to take room' },
      { sku: 'C-3', qty: 1, price: 30, title: 'A third thing with a long enough title to take room' },
    ],
  },
  note: 'x'.repeat(420),
});
export const POST_HEADERS: Record<string, string> = {
  'Content-Type': 'application/json',
  'User-Agent': 'Mozilla/5.0 (bench) Firefox/128.0',
  Cookie: 'theme=dark; consent=yes',
  Accept: 'application/json',
};
export const POST_PATH = '/checkout?token=none&step=2';

const lua = (method: string, headers: Record<string, string>, body?: string) =>
  `wrk.method = "${method}"\n` +
  (body === undefined ? '' : `wrk.body = ${JSON.stringify(body)}\n`) +
  Object.keys(headers).map((h) => `wrk.headers["${h}"] = ${JSON.stringify(headers[h])}\n`).join('');
export const GET_SCRIPT = lua('GET', GET_HEADERS);
export const POST_SCRIPT = lua('POST', POST_HEADERS, POST_BODY);

/** The `$api_sessions_params` of a location of bench/nginx.conf, as nginx would hand it over. */
export function locationParams(root: string, location: string): string {
  const conf = readFileSync(join(root, 'bench', 'nginx.conf'), 'utf8');
  const at = conf.indexOf('location /' + location + '/ {');
  const m = /set \$api_sessions_params '([^']*)'/.exec(conf.slice(at));
  if (at < 0 || !m) throw new Error('no $api_sessions_params in location /' + location + '/ of bench/nginx.conf');
  return m[1];
}

/** The fast upstream's JSON answer (bench/upstream.conf). */
export function upstreamBody(root: string): string {
  const m = /return 200 '([^']*)'/.exec(readFileSync(join(root, 'bench', 'upstream.conf'), 'utf8'));
  if (!m) throw new Error('no answer in bench/upstream.conf');
  return m[1];
}

/** The path of a command the benchmarks need; exits with a clear message (and code 2) when it is
 *  not installed. */
export function requireCommand(bin: string, pkg: string): string {
  const found = spawnSync('sh', ['-c', 'command -v ' + bin], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    console.error(`${bin} is not installed: apt-get install -y ${pkg} (Debian's package), then run again.`);
    process.exit(2);
  }
  return found;
}

/** `n` of the benchmark's GET (or POST) requests to `url`, one after another on one keep-alive
 *  connection; a status that `ok` refuses rejects. */
export function sendInTurn(url: string, n: number, post: boolean, ok: (status: number) => boolean): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers: Record<string, string | number> = { ...(post ? POST_HEADERS : GET_HEADERS) };
  if (post) headers['Content-Length'] = Buffer.byteLength(POST_BODY);
  const one = () =>
    new Promise<void>((res, rej) => {
      const req = http.request(url, { method: post ? 'POST' : 'GET', headers, agent }, (r) => {
        r.resume();
        r.on('end', () => (ok(r.statusCode || 0) ? res() : rej(new Error(url + ': status ' + r.statusCode))));
      });
      req.on('error', rej);
      req.end(post ? POST_BODY : undefined);
    });
  return (async () => {
    for (let i = 0; i < n; i++) await one();
    agent.destroy();
  })();
}

/** The instruction total of a callgrind file. valgrind may finish writing it a moment after the
 *  process it ran has been seen to exit (seen in a Debian root): wait for the totals line. */
export async function callgrindTotal(file: string): Promise<number> {
  const deadline = Date.now() + 60000;
  for (;;) {
    const t = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
    if (t) return Number(t[1]);
    if (Date.now() > deadline) throw new Error('no totals in ' + file);
    await new Promise((r) => setTimeout(r, 200));
  }
}
