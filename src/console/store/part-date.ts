/**
 * A part's date (the record's `part`: YYYY-MM-DD, UTC): what a well-formed one looks like, and
 * which ones a store takes at ingest.
 */
import { IngestResult } from './types';

const PART_RE = /^\d{4}-\d{2}-\d{2}$/;

export function isPartDate(s: string): boolean {
  return PART_RE.test(s);
}

/**
 * A batch's counts, and whether a store takes a record by its part date: one before the retention
 * cutoff is counted `expired`, one after tomorrow (UTC) `future` (a clock or a sender is wrong);
 * neither is stored.
 */
export function batchCounts(cutoff: string): { res: IngestResult; takes: (part: string) => boolean } {
  const res: IngestResult = { inserted: 0, duplicates: 0, expired: 0, future: 0 };
  const latest = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  const takes = (part: string): boolean => {
    if (part < cutoff) res.expired++;
    else if (part > latest) res.future++;
    else return true;
    return false;
  };
  return { res, takes };
}
