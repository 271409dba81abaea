/**
 * npx tsx bench/console-search.ts [records]: how long the list's searches (issue 16) take on the
 * SQLite store: generated traffic (test/helpers/generate-records.ts, 7 days, default 300,000
 * records) in a temporary database, each search run 5 times, the median printed. Not a test:
 * numbers for docs/console-api.md's claims that the searches are bounded.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { SqliteStore } from '../src/console/store/sqlite';
import { PartFilter, PartSort } from '../src/console/store/types';
import { generateRecords } from '../test/helpers/generate-records';
import { SessionRecord } from '../src/shared/record';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 300000);
  const dir = mkdtempSync(join(tmpdir(), 'api-sessions-search-'));
  const store = new SqliteStore(join(dir, 's.db'), { backgroundCheckpoint: false });
  try {
    let batch: SessionRecord[] = [];
    let sample: SessionRecord | null = null;
    for (const r of generateRecords({ count, seed: 16 })) {
      if (r.user) sample = r; // the newest: request-id prefixes look among the newest requests
      batch.push(r);
      if (batch.length === 5000) {
        await store.ingest(batch);
        batch = [];
      }
    }
    if (batch.length) await store.ingest(batch);
    const st = await store.stats();
    console.log(`${count} records, ${st.parts} session parts`);
    const user = sample!.user!;
    const searches: Array<[string, PartFilter, PartSort?]> = [
      ['list by last request', {}],
      ['list by requests', {}, 'requests'],
      ['list by attacks', {}, 'attacked'],
      ['user exact', { user }],
      ['user other case', { user: user.toUpperCase() }],
      ['user prefix*', { user: user.slice(0, 3) + '*' }],
      ['user *suffix', { user: '*' + user.slice(-3) }],
      ['app pattern', { app: 'shop*' }],
      ['ip exact', { ip: sample!.ip }],
      ['ip /16', { ip: sample!.ip.split('.').slice(0, 2).join('.') + '.0.0/16' }],
      ['ip /8', { ip: sample!.ip.split('.')[0] + '.0.0.0/8' }],
      ['session prefix 12', { session: sample!.session.slice(0, 12) }],
      ['request id prefix 12', { requestId: sample!.request_id.slice(0, 12) }],
      ['q user', { q: user }],
      ['q nothing', { q: 'no-such-text-anywhere' }],
      ['endpoint any case', { endpoint: 'GET /API/*' }],
    ];
    for (const [name, f, sort] of searches) {
      const times: number[] = [];
      let n = 0;
      for (let i = 0; i < 5; i++) {
        const t0 = process.hrtime.bigint();
        n = (await store.listParts(f, { limit: 50, sort })).items.length;
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      times.sort((a, b) => a - b);
      console.log(`${name.padEnd(22)} ${times[2].toFixed(1).padStart(8)} ms  (${n} parts on the first page)`);
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
