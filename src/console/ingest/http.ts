/**
 * POST /api/ingest: records from shippers (Vector, Fluent Bit), and from nothing else.
 *
 * - Only shippers' requests: a JSON or NDJSON content type (a browser cannot send one cross-site
 *   without a CORS preflight, which the console never grants), no cross-site `Origin` or
 *   `Sec-Fetch-Site`, and with a token only `Authorization: Bearer` (routes/access.ts: the UI's
 *   sign-in cookie never authorizes ingest).
 * - The tailer's limits: a line (an NDJSON line, an element of a JSON array) longer than
 *   MAX_LINE_BYTES is refused as `too_long`; every field is validated by ingest/parse.ts.
 * - Bounded work: the body is split into events while it arrives, a chunk at a time (never held
 *   or decoded whole), its size is capped before and after decompression, nesting is checked
 *   before JSON.parse sees an event, and storing yields to the event loop between slices, so
 *   that one request never holds the console.
 * - Refused requests are counted by reason (`api_sessions_console_ingest_refused_total`).
 */
import { createGunzip, createInflate } from 'zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { crossSite } from '../routes/access';
import { Batch, InvalidSink, MAX_DEPTH, MAX_LINE_BYTES, addJsonLine, newBatch } from './lines';

/** The largest body, bytes, before and after decompression. */
export const MAX_INGEST_BODY_BYTES = 16 * 1024 * 1024;
/** Records stored per transaction, with a turn of the event loop between two (about 25 ms of SQLite). */
const SLICE_RECORDS = 250;

/** Media types shippers send for JSON and NDJSON bodies. */
export const INGEST_TYPES = ['application/json', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines', 'application/jsonlines'];

export type RefusalReason = 'token' | 'cross_site' | 'content_type' | 'too_large' | 'encoding' | 'bad_body';

export interface IngestRouteOptions {
  maxBodyBytes?: number;
  /** Default MAX_LINE_BYTES (lines.ts): the tailer's too. */
  maxLineBytes?: number;
  onInvalid: InvalidSink;
  /** Saves a batch (counts and metrics included). */
  ingest(batch: Batch, source: string): Promise<{ inserted: number; duplicates: number; expired: number; future: number }>;
  /** Counts a refused request. */
  refused(reason: RefusalReason): void;
}

type Marked = { ingestRefusal?: RefusalReason };

/** An error that answers the request with its status (routes/errors.ts sends 4xx as they are). */
function refusal(status: number, reason: RefusalReason, message: string): Error {
  return Object.assign(new Error(message), { statusCode: status, ingestRefusal: reason });
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));


function mediaType(req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Splits a shipper's body into events while it arrives, a chunk at a time: NDJSON lines, or the
 * elements of a JSON array, found by a byte scanner that tracks strings and nesting without
 * parsing. An event longer than `maxLine` is reported (its start) and not kept; an array nested
 * deeper than MAX_DEPTH is refused at once (`[[[[...`).
 */
export class EventSplitter {
  private mode: 'start' | 'lines' | 'array' | 'closed' = 'start';
  private parts: Buffer[] = [];
  private size = 0;
  private tooLong = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private inElement = false;

  constructor(
    private readonly maxLine: number,
    private readonly onEvent: (bytes: Buffer) => void,
    private readonly onTooLong: (start: Buffer) => void,
  ) {}

  private keep(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    if (!this.tooLong && this.size + (to - from) > this.maxLine) {
      this.tooLong = true;
      const first = this.parts.length > 0 ? this.parts[0] : chunk.subarray(from, to);
      this.onTooLong(Buffer.from(first.subarray(0, 200)));
      this.parts = [];
    }
    this.size += to - from;
    if (!this.tooLong) this.parts.push(chunk.subarray(from, to));
  }

  private emit(): void {
    if (!this.tooLong && this.size > 0) this.onEvent(this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts));
    this.parts = [];
    this.size = 0;
    this.tooLong = false;
  }

  push(chunk: Buffer): void {
    let i = 0;
    if (this.mode === 'start') {
      while (i < chunk.length && isSpace(chunk[i])) i++;
      if (i === chunk.length) return;
      if (chunk[i] === 0x5b) {
        this.mode = 'array';
        i++;
      } else this.mode = 'lines';
    }
    if (this.mode === 'lines') {
      while (i < chunk.length) {
        const nl = chunk.indexOf(0x0a, i);
        if (nl < 0) {
          this.keep(chunk, i, chunk.length);
          return;
        }
        this.keep(chunk, i, nl);
        this.emit();
        i = nl + 1;
      }
      return;
    }
    this.scanArray(chunk, i);
  }

  private scanArray(chunk: Buffer, i: number): void {
    let start = this.inElement ? i : -1;
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.mode === 'closed') {
        if (!isSpace(c)) throw refusal(400, 'bad_body', 'body starts with [ but is not a JSON array');
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (this.depth === 0 && (c === 0x2c || c === 0x5d)) {
        if (this.inElement) {
          this.keep(chunk, start, i);
          this.emit();
          this.inElement = false;
          start = -1;
        } else if (c === 0x2c) throw refusal(400, 'bad_body', 'body starts with [ but is not a JSON array');
        if (c === 0x5d) this.mode = 'closed';
        continue;
      }
      if (!this.inElement) {
        if (isSpace(c)) continue;
        this.inElement = true;
        start = i;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++this.depth > MAX_DEPTH) throw refusal(400, 'bad_body', `body nests deeper than ${MAX_DEPTH}`);
      } else if (c === 0x5d || c === 0x7d) this.depth--;
    }
    if (this.inElement && start >= 0) this.keep(chunk, start, chunk.length);
  }

  end(): void {
    if (this.mode === 'lines') this.emit();
    else if (this.mode === 'array') throw refusal(400, 'bad_body', 'body starts with [ but is not a JSON array');
  }
}

/** Reads a shipper's body from its stream (decompressing it) into a batch, within the limits. */
function readBody(req: FastifyRequest, payload: NodeJS.ReadableStream, maxBody: number, maxLine: number, onInvalid: InvalidSink): Promise<Batch> {
  const batch = newBatch();
  const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  let stream: NodeJS.ReadableStream = payload;
  if (enc === 'gzip' || enc === 'x-gzip') stream = payload.pipe(createGunzip());
  else if (enc === 'deflate') stream = payload.pipe(createInflate());
  else if (enc !== 'identity') {
    return Promise.reject(refusal(415, 'encoding', `content-encoding ${enc} is not supported (gzip, deflate)`));
  }
  const splitter = new EventSplitter(
    maxLine,
    (bytes) => addJsonLine(batch, bytes.toString('utf8'), 'http', onInvalid),
    (start) => {
      batch.invalid++;
      onInvalid('http', 'too_long', `line longer than ${maxLine} bytes`, start.toString('utf8'));
    },
  );
  return new Promise((resolve, reject) => {
    let received = 0;
    let decoded = 0;
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      if (stream !== payload) {
        payload.unpipe(stream as unknown as NodeJS.WritableStream);
        (stream as unknown as { destroy(): void }).destroy();
      }
      // The rest of the body is never read: the answer closes the connection (onSend below).
      reject(e);
    };
    if (stream !== payload) {
      payload.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBody) fail(refusal(413, 'too_large', `body larger than ${maxBody} bytes`));
      });
    }
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      decoded += chunk.length;
      if (decoded > maxBody) {
        fail(refusal(413, 'too_large', stream === payload ? `body larger than ${maxBody} bytes` : `body larger than ${maxBody} bytes once decompressed`));
        return;
      }
      try {
        splitter.push(chunk);
      } catch (e) {
        fail(e as Error);
      }
    });
    stream.on('error', (e: Error) => fail(refusal(400, 'bad_body', 'body does not decompress: ' + e.message)));
    stream.on('end', () => {
      if (failed) return;
      try {
        splitter.end();
      } catch (e) {
        fail(e as Error);
        return;
      }
      if (decoded === 0) fail(refusal(400, 'bad_body', 'empty body'));
      else resolve(batch);
    });
  });
}

export function registerIngest(app: FastifyInstance, opts: IngestRouteOptions): void {
  const maxBody = opts.maxBodyBytes ?? MAX_INGEST_BODY_BYTES;
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  app.register(async (scope) => {
    const refuse = (req: FastifyRequest, reply: FastifyReply, status: number, reason: RefusalReason, message: string) => {
      (req as Marked).ingestRefusal = reason;
      return reply.code(status).send({ error: message });
    };
    // Before the body is read: who sends it, and what.
    scope.addHook('onRequest', async (req, reply) => {
      if (req.method !== 'POST') return;
      if (crossSite(req)) return refuse(req, reply, 403, 'cross_site', 'cross-site requests cannot ingest');
      if (!INGEST_TYPES.includes(mediaType(req))) {
        return refuse(req, reply, 415, 'content_type', 'content-type must be application/x-ndjson or application/json');
      }
      if (Number(req.headers['content-length']) > maxBody) return refuse(req, reply, 413, 'too_large', `body larger than ${maxBody} bytes`);
    });
    // A refused request's connection is closed with the answer, so that the rest of its body
    // (up to the 60 MiB an attacker may send) is not read.
    scope.addHook('onSend', async (req, reply, payload) => {
      if ((req as Marked).ingestRefusal || reply.statusCode === 413) reply.header('connection', 'close');
      return payload;
    });
    // Every refusal counted once, whoever answered (the token check in routes/access.ts, the body reader, ...).
    scope.addHook('onResponse', async (req, reply) => {
      const marked = (req as Marked).ingestRefusal;
      const status = reply.statusCode;
      if (marked) opts.refused(marked);
      else if (status === 401 || status === 403) opts.refused('token');
      else if (status === 413) opts.refused('too_large');
      else if (status === 415) opts.refused('content_type');
      else if (status >= 400 && status < 500) opts.refused('bad_body');
    });
    scope.removeAllContentTypeParsers();
    // The body is parsed while it arrives (readBody): never held or decoded whole.
    scope.addContentTypeParser(INGEST_TYPES, (req, payload, done) => {
      readBody(req, payload, maxBody, maxLine, opts.onInvalid).then(
        (batch) => done(null, batch),
        (e: Error) => {
          (req as Marked).ingestRefusal = (e as Marked).ingestRefusal;
          done(e, undefined);
        },
      );
    });
    scope.post('/api/ingest', async (req) => {
      const batch = req.body as Batch;
      // Stored in slices, each its own transaction: a retried batch is harmless (one record per request_id).
      const res = { inserted: 0, duplicates: 0, expired: 0, future: 0 };
      for (let i = 0; i < batch.records.length; i += SLICE_RECORDS) {
        const part: Batch = { records: batch.records.slice(i, i + SLICE_RECORDS), raws: batch.raws.slice(i, i + SLICE_RECORDS), invalid: 0 };
        const r = await opts.ingest(part, 'http');
        res.inserted += r.inserted;
        res.duplicates += r.duplicates;
        res.expired += r.expired;
        res.future += r.future;
        await nextTurn();
      }
      return { ...res, invalid: batch.invalid };
    });
  });
}
