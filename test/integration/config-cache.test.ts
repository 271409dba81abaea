/**
 * nginx/api_sessions_config_cache.conf on the engines that have js_shared_dict_zone (njs >= 0.8):
 * on the njs engine the parsed configuration is kept in the shared dictionary and read back
 * (shown by altering the kept copy: the next record follows it), records are the same as without
 * the cache, a bad entry is still reported; QuickJS keeps its own memo and leaves the dictionary
 * empty. njs 0.7.9 does not know the directive: skipped there.
 */
import { startNginx, Nginx } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request } from '../helpers/http';

/* eslint-disable @typescript-eslint/no-explicit-any */
const engine = currentEngine();
const old = engine.name === 'debian12' || engine.name === 'custom';
const PARAMS = `
            request.query.token group;
            request.header.x-user as who user;
            request.query.q shiny;`;

(old ? describe.skip : describe)(old ? `configuration cache: SKIPPED on ${engine.name} (njs 0.7.9 has no js_shared_dict_zone)` : 'configuration cache', () => {
  let up: Upstream;
  let ng: Nginx;

  beforeAll(async () => {
    up = await startUpstream();
    const server = (port: string, log: string) => `
    server {
        listen 127.0.0.1:${port};
        access_log {{PREFIX}}/logs/${log} api_sessions;
        set $api_sessions_secret "cache-secret";
        set $api_sessions_app "shop";
        set $api_sessions_params '${PARAMS}';
        location / { proxy_pass http://app; }
    }`;
    ng = await startNginx({
      ports: 3,
      http: `
    upstream app { server 127.0.0.1:${up.port}; }
    include {{ROOT}}/nginx/api_sessions_config_cache.conf;
    js_import probe from {{ROOT}}/test/nginx/config_cache_probe.js;
    add_header X-Request-Id $request_id always;
    ${server('{{PORT0}}', 'cached.log')}
    ${server('{{PORT1}}', 'same.log')}
    server {
        listen 127.0.0.1:{{PORT2}};
        location /entries { js_content probe.entries; }
        location /rename { js_content probe.rename; }
    }
`,
    });
  });

  afterAll(async () => {
    await ng?.stop();
    await up?.close();
  });

  const get = async (port: number, path: string, headers: Record<string, string> = {}) => {
    const r = await request(ng.url(path, port), { headers });
    expect(r.status).toBe(200);
    return r;
  };
  const entries = async () => JSON.parse((await get(2, '/entries')).text) as Array<{ key: string; value: string }>;

  test('records are those of the same configuration parsed per request; a bad entry is still named', async () => {
    for (let i = 0; i < 3; i++) {
      const a = await get(0, `/orders?token=tok-${i}`, { 'x-user': 'alice' });
      const b = await get(1, `/orders?token=tok-${i}`, { 'x-user': 'alice' });
      const ra = await ng.recordById(a.headers['x-request-id'] as string, 'cached.log');
      const rb = await ng.recordById(b.headers['x-request-id'] as string, 'same.log');
      for (const r of [ra, rb]) {
        expect(r.params).toEqual({ 'request.query.token': r.session, who: 'alice' });
        expect(r.user).toBe('alice');
      }
      expect(ra.session).toBe(rb.session);
    }
    // Reported on the first request of each new connection (the first eight), from the kept
    // configuration as from a fresh parse: more than the one report the first parse gave.
    const reports = ng.errorLog().match(/api_sessions: \$api_sessions_params entry 3 "request\.query\.q shiny": unknown flag "shiny"/g) || [];
    expect(reports.length).toBeGreaterThanOrEqual(3);
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
      expect(compiled.params.map((p: any) => p.name)).toEqual(['request.query.token', 'who']);
      expect(compiled.groups).toEqual([0]);
      expect(compiled.errors).toHaveLength(1);

      // Alter the kept copy: the next record follows it, so the module read it instead of parsing.
      expect((await get(2, '/rename?from=who&to=renamed')).text).toBe('1');
      const r = await get(0, '/orders?token=t2', { 'x-user': 'bob' });
      const rec = await ng.recordById(r.headers['x-request-id'] as string, 'cached.log');
      expect(rec.params).toEqual({ 'request.query.token': rec.session, renamed: 'bob' });
      expect(rec.user).toBe('bob');
    });
  }
});
