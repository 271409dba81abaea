/**
 * nginx/api_sessions_config_cache.conf on the engines that have js_shared_dict_zone (njs >= 0.8):
 * on the njs engine the parsed configuration is kept in the shared dictionary and read back
 * (shown by altering the kept copy: the next record follows it); a kept copy that does not read
 * back is dropped and parsed again, never costing a record; records are the same as those of a
 * second nginx without the include (header, JWT claim, hashed query and JSON body parameters); a
 * bad entry is still reported, once per worker and after a reload. QuickJS keeps its own memo and leaves the dictionary empty.
 * njs 0.7.9 does not know the directive: skipped there.
 */
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream, tokenFor } from '../helpers/upstream';
import { request } from '../helpers/http';

/* eslint-disable @typescript-eslint/no-explicit-any */
const engine = currentEngine();
const old = engine.name === 'debian12' || engine.name === 'custom';
const PARAMS = `
            request.query.token group;
            request.header.x-user as who user;
            request.query.q shiny;
            request.header.authorization.jwt.role role;
            request.query.email hash;
            request.body.json.cart.total as total`;

(old ? describe.skip : describe)(old ? `configuration cache: SKIPPED on ${engine.name} (njs 0.7.9 has no js_shared_dict_zone)` : 'configuration cache', () => {
  let up: Upstream;
  let ng: Nginx;
  let plain: Nginx;
  const server = (port: string, log: string) => `
    server {
        ${recordingLines({ secret: 'cache-secret', app: 'shop', listen: port, log })}
        set $api_sessions_params '${PARAMS}';
        location / { proxy_pass http://app; }
    }`;

  beforeAll(async () => {
    up = await startUpstream();
    ng = await startNginx({
      ports: 3,
      http: `
    ${upstreamLines(up.port)}
    include {{ROOT}}/nginx/api_sessions_config_cache.conf;
    js_import probe from {{ROOT}}/test/nginx/config_cache_probe.js;
    ${server('{{PORT0}}', 'cached.log')}
    ${server('{{PORT1}}', 'same.log')}
    server {
        listen 127.0.0.1:{{PORT2}};
        location /entries { js_content probe.entries; }
        location /rename { js_content probe.rename; }
        location /corrupt { js_content probe.corrupt; }
    }
`,
    });
    // The same configuration in an nginx without the include: parsed on every request.
    plain = await startNginx({
      http: `
    ${upstreamLines(up.port)}
    ${server('{{PORT0}}', 'plain.log')}
`,
    });
  });

  afterAll(async () => {
    await plain?.stop();
    await ng?.stop();
    await up?.close();
  });

  const get = async (port: number, path: string, headers: Record<string, string> = {}, on: Nginx = ng) => {
    const r = await request(on.url(path, port), { headers });
    expect(r.status).toBe(200);
    return r;
  };
  const post = async (on: Nginx, log: string, i: number) => {
    const r = await request(on.url(`/cart?token=tok-${i}&email=a${i}%40example.com`, 0), {
      method: 'POST',
      headers: { 'x-user': 'alice', authorization: 'Bearer ' + tokenFor('alice', 'admin'), 'content-type': 'application/json' },
      body: JSON.stringify({ cart: { total: 10 + i } }),
    });
    expect(r.status).toBe(200);
    return on.recordById(r.headers['x-request-id'] as string, log);
  };
  const reports = () => (ng.errorLog().match(/api_sessions: \$api_sessions_params entry 3 "request\.query\.q shiny": unknown flag "shiny"/g) || []).length;
  const entries = async () => JSON.parse((await get(2, '/entries')).text) as Array<{ key: string; value: string }>;

  test('records are those of the same configuration parsed per request; a bad entry is still named', async () => {
    for (let i = 0; i < 3; i++) {
      const cached = await post(ng, 'cached.log', i);
      const parsed = await post(plain, 'plain.log', i);
      expect(Object.keys(cached.params).sort()).toEqual(['request.header.authorization.jwt.role', 'request.query.email', 'request.query.token', 'total', 'who']);
      expect(cached.params).toEqual(parsed.params);
      expect([cached.session, cached.user, cached.role, cached.key_source]).toEqual([parsed.session, parsed.user, parsed.role, parsed.key_source]);
      expect(cached.user).toBe('alice');
      expect(cached.role).toBe('admin');
      expect(cached.params.total).toBe(String(10 + i));
      expect(cached.errors).toEqual(parsed.errors);
    }
    // Written once by the worker (both servers have the same errors): QuickJS remembers it in its
    // context, the njs engine in the dictionary (without the include: on the first request of
    // each of nginx's first eight connections, config-errors.test.ts).
    expect({ reports: reports(), log: reports() === 1 ? '' : ng.errorLog() }).toEqual({ reports: 1, log: '' });
  });

  test('after a reload, the new worker writes the errors once again', async () => {
    await ng.reload();
    const before = reports();
    for (let i = 0; i < 4; i++) await post(ng, 'cached.log', i);
    expect({ reports: reports(), log: reports() === before + 1 ? '' : ng.errorLog() }).toEqual({ reports: before + 1, log: '' });
  });

  if (engine.qjs) {
    test('QuickJS keeps its own memo: the dictionary stays empty', async () => {
      await get(0, '/orders?token=t', { 'x-user': 'alice' });
      expect(await entries()).toEqual([]);
    });
  } else {
    test('the njs engine keeps one parsed configuration and reads it back', async () => {
      await get(0, '/orders?token=t', { 'x-user': 'alice' });
      const kept = await entries();
      expect(kept).toHaveLength(1); // both servers have the same configuration text
      expect(kept[0].key).toContain('request.query.token group;');
      const compiled = JSON.parse(kept[0].value);
      expect(compiled.params.map((p: any) => p.name)).toEqual(['request.query.token', 'who', 'request.header.authorization.jwt.role', 'request.query.email', 'total']);
      expect(compiled.params.filter((p: any) => p.group).map((p: any) => p.name)).toEqual(['request.query.token']);
      expect(compiled.errors).toHaveLength(1);

      // Alter the kept copy: the next record follows it, so the module read it instead of parsing.
      expect((await get(2, '/rename?from=who&to=renamed')).text).toBe('1');
      const r = await get(0, '/orders?token=t2', { 'x-user': 'bob' });
      const rec = await ng.recordById(r.headers['x-request-id'] as string, 'cached.log');
      expect(rec.params).toEqual({ 'request.query.token': rec.session, renamed: 'bob' });
      expect(rec.user).toBe('bob');
    });

    test('a kept copy that does not read back is dropped and parsed again: the record is whole', async () => {
      await get(0, '/orders?token=t3', { 'x-user': 'carol' });
      for (const broken of ['{"params":', '{"params":[]}', 'null']) {
        expect(Number((await get(2, '/corrupt?with=' + encodeURIComponent(broken))).text)).toBeGreaterThan(0);
        const r = await get(0, '/orders?token=t4', { 'x-user': 'carol' });
        const rec = await ng.recordById(r.headers['x-request-id'] as string, 'cached.log');
        // Only the configuration's own bad entry, as from a fresh parse: nothing about the cache.
        expect(rec.errors).toEqual([expect.stringMatching(/^config: \$api_sessions_params entry 3 "request\.query\.q shiny"/)]);
        expect(rec.params).toEqual({ 'request.query.token': rec.session, who: 'carol' });
        // ... and the copy kept now is a good one again.
        const kept = await entries();
        expect(kept).toHaveLength(1);
        expect(JSON.parse(kept[0].value).params).toHaveLength(5);
      }
    });
  }
});
