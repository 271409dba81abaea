/**
 * Retention in the SQLite store: the parts before a cutoff day with their filter index entries,
 * the days' requests tables, links, samples and the overview's counts, and the endpoints no part
 * requests any more.
 */
import type Database from 'better-sqlite3';
import { SessionLinks } from './journeys';
import { RequestDays } from './requests';
import { Samples } from './samples';
import { OverviewCounter } from './overview';
import { PartWriter } from './write';

export class Retention {
  private readonly st;

  constructor(
    private readonly db: Database.Database,
    private readonly days: RequestDays,
    private readonly writer: PartWriter,
    private readonly links: SessionLinks,
    private readonly samples: Samples,
    private readonly overview: OverviewCounter,
  ) {
    this.st = {
      expiredParts: db.prepare('SELECT id FROM parts WHERE part < ?').pluck(),
      deleteFacets: db.prepare('DELETE FROM facets WHERE part_id = ?'),
      deletePartEndpoints: db.prepare('DELETE FROM part_endpoints WHERE part_id = ?'),
      deletePart: db.prepare('DELETE FROM parts WHERE id = ?'),
      deleteOrphanEndpoints: db.prepare(
        'DELETE FROM endpoints WHERE NOT EXISTS (SELECT 1 FROM part_endpoints pe WHERE pe.endpoint_id = endpoints.id)',
      ),
    };
  }

  /** Returns how many parts were deleted. */
  async deleteBefore(cutoffPart: string): Promise<number> {
    const st = this.st;
    const ids = st.expiredParts.all(cutoffPart) as number[];
    const del = this.db.transaction((chunk: number[]) => {
      for (const id of chunk) {
        st.deleteFacets.run(id);
        st.deletePartEndpoints.run(id);
        st.deletePart.run(id);
      }
    });
    for (let i = 0; i < ids.length; i += 500) {
      del(ids.slice(i, i + 500));
      // Let queries and ingest in between: a day of a busy site is many parts.
      await new Promise((r) => setImmediate(r));
    }
    for (const part of this.days.all()) {
      if (part >= cutoffPart) continue;
      this.days.drop(part);
    }
    this.links.deleteBefore(cutoffPart);
    this.samples.deleteBefore(cutoffPart);
    this.overview.deleteBefore(Date.parse(cutoffPart + 'T00:00:00Z'));
    if (ids.length > 0) {
      st.deleteOrphanEndpoints.run();
      this.writer.forgetCaches();
    }
    return ids.length;
  }
}
