/**
 * Turning received text into records: one place that parses, validates, counts and logs what is
 * refused, shared by the file tailer and the HTTP endpoint.
 */
import { SessionRecord } from '../../shared/record';
import { parseRecord, parseRecordValue, InvalidReason } from './parse';

export interface InvalidSink {
  /** Called once per refused line: counts it (metrics) and logs it (rate-limited). */
  (source: string, reason: InvalidReason | 'too_long', detail: string, sample: string): void;
}

export interface Batch {
  records: SessionRecord[];
  raws: string[];
  invalid: number;
}

export function newBatch(): Batch {
  return { records: [], raws: [], invalid: 0 };
}

/** The longest line accepted, bytes, from the log file (the tailer reads a line in one chunk of
 *  this size) and from a shipper (an NDJSON line, an element of a JSON array). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Nesting allowed in one line: a record is 4 deep (request.headers), an envelope adds 1. */
export const MAX_DEPTH = 16;
/** Lines shorter than this are parsed without the nesting check: their JSON.parse is cheap anyway. */
const CHECKED_FROM = 64 * 1024;

/** Whether a JSON text nests arrays and objects deeper than `max` (stops as soon as it does). */
export function nestingOver(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** A line JSON.parse would spend long on (`[[[[...` megabytes deep): refused before it parses. */
export function tooDeep(line: string): boolean {
  return line.length > CHECKED_FROM && nestingOver(line, MAX_DEPTH);
}

/** Adds one line (without its newline) to the batch; blank lines are skipped silently. */
export function addLine(batch: Batch, line: string, source: string, onInvalid: InvalidSink): void {
  if (line.length === 0 || (line.length < 3 && line.trim() === '')) return;
  if (tooDeep(line)) {
    batch.invalid++;
    onInvalid(source, 'json', `nested deeper than ${MAX_DEPTH}`, line.slice(0, 200));
    return;
  }
  const r = parseRecord(line);
  if (r.ok) {
    batch.records.push(r.record);
    batch.raws.push(r.raw);
  } else {
    batch.invalid++;
    onInvalid(source, r.reason, r.detail, line);
  }
}

/** Adds one parsed value (an element of a JSON array body, or an NDJSON line's object). Accepts
 *  the record itself, a record with a shipper's extra keys, or a shipper's envelope whose
 *  `message` (Vector) or `log` (Fluent Bit) string is the module's line. */
export function addValue(batch: Batch, v: unknown, source: string, onInvalid: InvalidSink): void {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (!('session' in o)) {
      const inner = typeof o.message === 'string' ? o.message : typeof o.log === 'string' ? o.log : null;
      if (inner !== null) {
        addLine(batch, inner.replace(/\r?\n$/, ''), source, onInvalid);
        return;
      }
    }
  }
  const r = parseRecordValue(v);
  if (r.ok) {
    batch.records.push(r.record);
    batch.raws.push(r.raw);
  } else {
    batch.invalid++;
    onInvalid(source, r.reason, r.detail, safeSample(v));
  }
}

function safeSample(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Short, single-line, printable excerpt of a refused line for the log. */
export function excerpt(s: string, max = 200): string {
  const one = s.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return one.length > max ? one.slice(0, max) + '...' : one;
}

/** Adds one NDJSON line of a shipper's body: a record, or an envelope around the module's line. */
export function addJsonLine(batch: Batch, line: string, source: string, onInvalid: InvalidSink): void {
  const t = line.trim();
  if (t === '') return;
  if (tooDeep(t)) {
    batch.invalid++;
    onInvalid(source, 'json', `nested deeper than ${MAX_DEPTH}`, t.slice(0, 200));
    return;
  }
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    batch.invalid++;
    onInvalid(source, 'json', 'not JSON: ' + (e as Error).message, t);
    return;
  }
  if (typeof v === 'object' && v !== null && 'session' in v) {
    const r = parseRecordValue(v);
    if (r.ok) {
      batch.records.push(r.record);
      batch.raws.push(t);
    } else {
      batch.invalid++;
      onInvalid(source, r.reason, r.detail, t);
    }
    return;
  }
  addValue(batch, v, source, onInvalid);
}

/**
 * Parses a shipper's HTTP body: a JSON array of events (Fluent Bit `format json`, Vector's JSON
 * batches), or newline-delimited JSON (Fluent Bit `format json_lines`, Vector's
 * `framing.method = "newline_delimited"`), each event a record or an envelope. Returns null when
 * the body is a JSON array that does not parse.
 */
export function parseBody(text: string, source: string, onInvalid: InvalidSink): Batch | null {
  const batch = newBatch();
  const t = text.trimStart();
  if (t.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(t);
    } catch {
      return null;
    }
    if (!Array.isArray(arr)) return null;
    for (const v of arr) addValue(batch, v, source, onInvalid);
    return batch;
  }
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = text.length;
    addJsonLine(batch, text.slice(start, nl), source, onInvalid);
    start = nl + 1;
  }
  return batch;
}
