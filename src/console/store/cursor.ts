/**
 * The cursors of the list and of a session page (Page.next): opaque to callers, and refused with
 * BadCursorError when they were not made here. Both stores write JSON arrays; the SQLite store
 * writes its row keys (times and row ids) as integers joined by ':'.
 */
import { BadCursorError } from './types';

export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** The cursor's values; the caller checks each of them. */
export function decodeCursor(c: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(c, 'base64url').toString());
  } catch (e) {
    throw new BadCursorError('bad cursor');
  }
  if (!Array.isArray(v)) throw new BadCursorError('bad cursor');
  return v;
}

export function encodeIntCursor(ints: number[]): string {
  return Buffer.from(ints.join(':')).toString('base64url');
}

/** The cursor's `n` integers. */
export function decodeIntCursor(c: string, n: number): number[] {
  const xs = Buffer.from(c, 'base64url').toString().split(':').map(Number);
  if (xs.length !== n || xs.some((x) => !Number.isSafeInteger(x))) throw new BadCursorError('bad cursor');
  return xs;
}
