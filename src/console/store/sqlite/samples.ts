/**
 * Records sampled by discovery, in the SQLite store (table `samples`, schema.ts): the newest
 * MAX_SAMPLES of each application, read by the recommendations.
 */
import type Database from 'better-sqlite3';
import { MAX_SAMPLES, clampSamples } from '../journey-rows';
import { SampleFields } from '../fields';
import { SampleRow } from '../types';
import { preparedOnFirstUse, samplesColumns } from './schema';

export class Samples {
  private readonly statements;
  /** Samples added per application since its oldest were last trimmed. */
  private sinceTrim = new Map<string, number>();

  constructor(db: Database.Database) {
    this.statements = preparedOnFirstUse(() => {
      // A read-only store on an older file: samples without the user or key column read them
      // as NULL (a writer adds them: schema.ts).
      const cols = samplesColumns(db);
      const optional = ['user', 'key'].filter((c) => cols.has(c));
      const read = ['user', 'key'].map((c) => (cols.has(c) ? c : `NULL AS ${c}`)).join(', ');
      const written = ['app', 'ts', 'part', 'session', 'key_source', 'method', 'path', 'ip', 'ua', 'links', 'inventory', ...optional];
      return {
        optional,
        insertSample: db.prepare(`INSERT INTO samples (${written.join(', ')}) VALUES (${written.map(() => '?').join(', ')})`),
        trimSamples: db.prepare(
          `DELETE FROM samples WHERE app = ? AND id < (SELECT id FROM samples WHERE app = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        ),
        samples: db.prepare(
          `SELECT * FROM (SELECT id, ts, session, key_source, method, path, ip, ua, links, inventory, ${read} FROM samples
           WHERE app = ? ORDER BY id DESC LIMIT ?) ORDER BY ts, id`,
        ),
        deleteSamples: db.prepare('DELETE FROM samples WHERE part < ?'),
      };
    });
  }

  /** A newly stored record's sample (journeyRows); an application's oldest are trimmed every
   *  1000 samples. */
  add(x: SampleFields): void {
    const st = this.statements();
    const extra = st.optional.map((c) => (c === 'user' ? x.user : x.key));
    st.insertSample.run(x.app, x.ts, x.part, x.session, x.key_source, x.method, x.path, x.ip, x.ua, JSON.stringify(x.links), JSON.stringify(x.inventory), ...extra);
    const n = (this.sinceTrim.get(x.app) ?? 0) + 1;
    if (n >= 1000) {
      st.trimSamples.run(x.app, x.app, MAX_SAMPLES - 1);
      this.sinceTrim.set(x.app, 0);
    } else this.sinceTrim.set(x.app, n);
  }

  samples(app: string, max: number): SampleRow[] {
    const rows = this.statements().samples.all(app, clampSamples(max)) as Array<
      Omit<SampleRow, 'links' | 'inventory'> & { links: string; inventory: string }
    >;
    return rows.map((r) => ({
      ts: r.ts,
      session: r.session,
      key_source: r.key_source,
      method: r.method,
      path: r.path,
      ip: r.ip,
      ua: r.ua,
      links: JSON.parse(r.links),
      inventory: JSON.parse(r.inventory),
      user: r.user ?? null,
      key: r.key ?? null,
    }));
  }

  deleteBefore(cutoffPart: string): void {
    this.statements().deleteSamples.run(cutoffPart);
  }
}
