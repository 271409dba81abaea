/**
 * CSV exports of what is on screen, streamed as they are read (a page of the store at a time,
 * waiting while the client is slower), never held whole.
 */
import type { FastifyReply } from 'fastify';
import { stringify } from 'csv-stringify';
import type { StoredRequest } from '../store/types';

/** Sends `rows` as a CSV download named `filename`. */
export function sendCsv(reply: FastifyReply, filename: string, columns: string[], rows: AsyncIterable<unknown[]>) {
  // escape_formulas: a value that starts with = + - @ is prefixed so spreadsheets show it as text.
  const csv = stringify({ header: true, columns, escape_formulas: true });
  (async () => {
    try {
      for await (const row of rows) {
        const ok = csv.write(row);
        if (!ok) await new Promise((res) => csv.once('drain', res));
      }
      csv.end();
    } catch (e) {
      csv.destroy(e as Error);
    }
  })();
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(csv);
}

const REQUEST_COLUMNS = ['seq', 'ts', 'request_id', 'method', 'host', 'path', 'status', 'duration_ms', 'bytes_sent', 'ip', 'ua', 'user', 'role', 'key', 'key_source', 'attack', 'params', 'errors', 'request'];

/** Streams requests as CSV (with `session` and `part` first when they come from several). */
export function sendRequestsCsv(reply: FastifyReply, filename: string, requests: AsyncIterable<StoredRequest & { session?: string; part?: string }>, withSession: boolean) {
  const columns = (withSession ? ['session', 'part'] : []).concat(REQUEST_COLUMNS);
  async function* rows(): AsyncGenerator<unknown[]> {
    for await (const r of requests) {
      const row: unknown[] = [
        r.seq, r.ts, r.request_id, r.method, r.host, r.path, r.status, r.duration_ms, r.bytes_sent, r.ip, r.ua ?? '',
        r.user ?? '', r.role ?? '', r.key, r.key_source, r.attack ? r.attack.join(',') : '', JSON.stringify(r.params),
        r.errors.length ? JSON.stringify(r.errors) : '', r.request ? JSON.stringify(r.request) : '',
      ];
      yield withSession ? [r.session, r.part, ...row] : row;
    }
  }
  return sendCsv(reply, filename, columns, rows());
}
