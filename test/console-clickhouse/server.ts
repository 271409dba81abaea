/**
 * Starts a real clickhouse-server (Debian 12's 18.16, or any newer binary named by
 * CLICKHOUSE_SERVER_BIN) on 127.0.0.1 with free ports, a temp data dir and its own config, and
 * stops it by its pid.
 */
import { spawn, ChildProcess } from 'child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../helpers/nginx';

const CANDIDATES = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server', '/usr/bin/clickhouse'];

/** The server binary, or null when ClickHouse is not installed. */
export function clickhouseBinary(): string | null {
  if (process.env.CLICKHOUSE_SERVER_BIN) return existsSync(process.env.CLICKHOUSE_SERVER_BIN) ? process.env.CLICKHOUSE_SERVER_BIN : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface ClickHouseServer {
  url: string;
  pid: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startClickHouse(bin: string): Promise<ClickHouseServer> {
  const dir = mkdtempSync(join(tmpdir(), 'api-sessions-clickhouse-'));
  const data = join(dir, 'data') + '/';
  mkdirSync(data, { recursive: true });
  const [httpPort, tcpPort, interPort] = [await freePort(), await freePort(), await freePort()];
  // The single-binary `clickhouse` of newer releases needs the `server` subcommand.
  const args = bin.endsWith('/clickhouse') ? ['server', '--config-file=' + join(dir, 'config.xml')] : ['--config-file=' + join(dir, 'config.xml')];
  writeFileSync(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <interserver_http_port>${interPort}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${data}</path>
  <tmp_path>${data}tmp/</tmp_path>
  <user_files_path>${data}user_files/</user_files_path>
  <format_schema_path>${data}format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
`,
  );
  writeFileSync(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  const child: ChildProcess = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `http://127.0.0.1:${httpPort}`;
  const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');
  const server: ClickHouseServer = {
    url,
    pid: child.pid!,
    dir,
    log: () => read(join(dir, 'server.err.log')).slice(-4000) + stderr.slice(-2000),
    stop: () =>
      new Promise<void>((res) => {
        const done = () => {
          if (!process.env.KEEP_CLICKHOUSE_DIR) rmSync(dir, { recursive: true, force: true });
          res();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        process.kill(child.pid!, 'SIGTERM');
      }),
  };
  // Ready when the HTTP interface answers a query.
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = server.log();
      await server.stop();
      throw new Error('clickhouse-server exited with ' + child.exitCode + ':\n' + log);
    }
    try {
      const r = await fetch(url + '/?query=SELECT%201');
      if (r.ok && (await r.text()).trim() === '1') break;
    } catch (e) {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const log = server.log();
      await server.stop();
      throw new Error('clickhouse-server did not answer on ' + url + ':\n' + log);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return server;
}
