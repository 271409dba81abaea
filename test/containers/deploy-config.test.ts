/**
 * What can be checked of the compose setup without a Docker engine: docker-compose.yml and the
 * Vector configurations parse and hang together (every mounted file exists, images pinned, the
 * shared log volume, disk buffers and acknowledgements), and the compose nginx configuration
 * passes `nginx -t` on this machine's nginx with its container paths mapped to the checkout.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import YAML from 'yaml';
import { NGINX_BIN, JS_MODULE, ROOT, DIST } from '../helpers/nginx';

// Compose reads YAML merge keys (<<: *node), which YAML 1.2 leaves out unless asked.
const compose = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });

test('docker-compose.yml: services, pinned images, mounted files that exist, the scale profile', () => {
  const services = compose.services as Record<string, any>;
  expect(Object.keys(services).sort()).toEqual(
    ['clickhouse', 'console', 'console-clickhouse', 'demo-api', 'nginx', 'vector', 'vector-clickhouse'].sort(),
  );
  for (const [name, s] of Object.entries(services)) {
    // A pinned image, or one built from the checkout (console-image.test.ts checks the Dockerfile).
    if (s.build) expect({ name, image: s.image, build: Object.keys(s.build).sort() }).toEqual({ name, image: undefined, build: ['context', 'dockerfile', 'target'] });
    else expect({ name, image: s.image }).toEqual({ name, image: expect.stringMatching(/^[a-z/_.-]+:\d+(\.\d+)+(-[a-z-]+)?$/) });
    for (const v of (s.volumes ?? []) as string[]) {
      const src = v.split(':')[0];
      if (src.startsWith('./')) expect({ name, mounted: src, exists: existsSync(join(ROOT, src)) || src === './dist/api_sessions.js' }).toEqual({ name, mounted: src, exists: true });
      else expect(Object.keys(compose.volumes)).toContain(src);
    }
  }
  expect(services.nginx.image).toMatch(/^nginx:/);
  for (const n of ['clickhouse', 'vector-clickhouse', 'console-clickhouse']) expect(services[n].profiles).toEqual(['scale']);
  for (const n of ['nginx', 'demo-api', 'vector', 'console']) expect(services[n].profiles).toBeUndefined();
  // nginx writes the log into the volume both Vectors read.
  expect(services.nginx.volumes).toContain('api-sessions-log:/var/log/api-sessions');
  expect(services.vector.volumes).toContain('api-sessions-log:/var/log/api-sessions:ro');
  expect(services['vector-clickhouse'].volumes).toContain('api-sessions-log:/var/log/api-sessions:ro');
  // Checkpoints and buffers live in volumes.
  expect(services.vector.volumes).toContain('vector-data:/var/lib/vector');
  expect(services['vector-clickhouse'].volumes).toContain('vector-clickhouse-data:/var/lib/vector');
  // ClickHouse gets the same schema file as the store.
  expect(services.clickhouse.volumes).toContain('./deploy/clickhouse/schema.sql:/schema/schema.sql:ro');
  expect(readFileSync(join(ROOT, 'deploy/clickhouse/init.sh'), 'utf8')).toContain('/schema/schema.sql');
  // The Node services run from images, not from the checkout and the host's node_modules.
  expect(['console', 'console-clickhouse', 'demo-api'].filter((n) => !services[n].build)).toEqual([]);
});

test('Vector configurations: the log, a disk buffer, acknowledgements; the ClickHouse rows as schema.sql wants them', () => {
  const nginxLog = readFileSync(join(ROOT, 'deploy/nginx/demo.conf'), 'utf8').match(/access_log (\S+) api_sessions/)![1];
  for (const f of ['vector.yaml', 'vector-clickhouse.yaml']) {
    const v = YAML.parse(readFileSync(join(ROOT, 'deploy/vector', f), 'utf8'));
    expect(v.data_dir).toBe('/var/lib/vector');
    const src = v.sources.api_sessions_log;
    expect(src.type).toBe('file');
    expect(src.include).toEqual(['/var/log/api-sessions/*.log']);
    expect(nginxLog.startsWith('/var/log/api-sessions/') && nginxLog.endsWith('.log')).toBe(true);
    const sinks = Object.values(v.sinks) as any[];
    expect(sinks).toHaveLength(1);
    expect(sinks[0].buffer).toEqual({ type: 'disk', max_size: 268435488, when_full: 'block' });
    expect(sinks[0].acknowledgements).toEqual({ enabled: true });
  }
  const http = YAML.parse(readFileSync(join(ROOT, 'deploy/vector/vector.yaml'), 'utf8')).sinks.console;
  expect(http.type).toBe('http');
  expect(http.uri).toContain('/api/ingest');
  expect(http.framing).toEqual({ method: 'newline_delimited' });
  const ch = YAML.parse(readFileSync(join(ROOT, 'deploy/vector/vector-clickhouse.yaml'), 'utf8'));
  expect(ch.sinks.clickhouse).toMatchObject({ type: 'clickhouse', table: 'requests', format: 'json_each_row', skip_unknown_fields: true, inputs: ['rows'] });
  const vrl: string = ch.transforms.rows.source;
  expect(vrl).toContain('.params = encode_json(.params)');
  expect(vrl).toContain('.request = encode_json(.request)');
  expect(vrl).toContain('.attack = []');
});

const haveNginx = existsSync(NGINX_BIN) && existsSync(JS_MODULE);
(haveNginx ? test : test.skip)('the compose nginx configuration passes nginx -t (container paths mapped to this checkout)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'api-sessions-compose-nginx-'));
  try {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'conf.d'));
    const map = (s: string) =>
      s
        .replace('modules/ngx_http_js_module.so', JS_MODULE)
        .replace(/^user nginx;$/m, process.getuid && process.getuid() === 0 ? 'user root;' : '')
        .replace('/var/log/nginx/', dir + '/logs/')
        .replace('/var/log/nginx/', dir + '/logs/')
        .replace('/var/run/nginx.pid', dir + '/nginx.pid')
        .replace(/\/opt\/api-sessions\/dist\//g, DIST + '/')
        .replace(/\/opt\/api-sessions\/nginx\//g, ROOT + '/nginx/')
        .replace('/etc/nginx/api-sessions.d/', dir + '/conf.d/')
        .replace('/etc/nginx/mime.types', existsSync('/etc/nginx/mime.types') ? '/etc/nginx/mime.types' : dir + '/mime.types')
        .replace(/\/var\/log\/api-sessions\//g, dir + '/logs/')
        // The compose network's host name resolves only inside compose.
        .replace('server demo-api:3000;', 'server 127.0.0.1:3000;')
        .replace('listen 80;', 'listen 127.0.0.1:1;');
    if (!existsSync('/etc/nginx/mime.types')) writeFileSync(join(dir, 'mime.types'), 'types { text/html html; }\n');
    writeFileSync(join(dir, 'nginx.conf'), map(readFileSync(join(ROOT, 'deploy/nginx/nginx.conf'), 'utf8')));
    writeFileSync(join(dir, 'conf.d', 'demo.conf'), map(readFileSync(join(ROOT, 'deploy/nginx/demo.conf'), 'utf8')));
    if (!existsSync(join(DIST, 'api_sessions.js'))) throw new Error('dist/api_sessions.js missing: npm run build first');
    const out = execFileSync(NGINX_BIN, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  } catch (e: any) {
    throw new Error('nginx -t failed: ' + (e.stderr || e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
