/**
 * Links between sessions in the SQLite store (table `links`, schema.ts): both directions of each,
 * with the first time it was seen and its newest day; read for journeys and `follow=links`.
 */
import type Database from 'better-sqlite3';
import { SessionRecord } from '../../../shared/record';
import { clampLinksPerSession, compareEdges } from '../journey-rows';
import { LinkEdge } from '../types';
import { preparedOnFirstUse } from './schema';

export class SessionLinks {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = preparedOnFirstUse(() => ({
      insertLink: db.prepare(
        `INSERT INTO links (a, b, app, ts, part) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (a, b) DO UPDATE SET ts = min(ts, excluded.ts), part = max(part, excluded.part)`,
      ),
      // One session's first links by time (index links_a_ts: reads `limit` rows, however many
      // the session has).
      linksOf: db.prepare('SELECT a, b, app, ts FROM links WHERE a = ? ORDER BY ts, b LIMIT ?'),
      deleteLinks: db.prepare('DELETE FROM links WHERE part < ?'),
    }));
  }

  /** A newly stored record's edges (journeyRows). */
  add(r: SessionRecord, ts: number, edges: Array<[string, string]>): void {
    const st = this.statements();
    for (const [a, b] of edges) st.insertLink.run(a, b, r.app, ts, r.part);
  }

  links(sessions: string[], perSession: number): LinkEdge[] {
    const limit = clampLinksPerSession(perSession);
    const linksOf = this.statements().linksOf;
    const out: LinkEdge[] = [];
    // Ordered by time within chunks of 500 sessions (as before the per-session bound); each
    // session is read on its own so that the bound is applied by the index, not after a scan.
    for (let i = 0; i < sessions.length; i += 500) {
      const chunk: LinkEdge[] = [];
      for (const a of new Set(sessions.slice(i, i + 500))) {
        for (const row of linksOf.all(a, limit) as LinkEdge[]) chunk.push(row);
      }
      chunk.sort(compareEdges);
      for (const e of chunk) out.push(e);
    }
    return out;
  }

  deleteBefore(cutoffPart: string): void {
    this.statements().deleteLinks.run(cutoffPart);
  }
}
