/**
 * Follows the module's log file, as `tail -F` would, and hands complete lines to the store.
 *
 * Position: after each batch the store saves, in the same transaction as the batch's records, a
 * checkpoint {inode, offset, fingerprint} where the fingerprint is a hash of the last 4 KiB before
 * the offset (several records: their request ids make it distinctive). A restart resumes there. Records are identified by request id, so a line read twice
 * (after a crash between reading and saving, or when a rotated copy is re-read) is stored once.
 *
 * Rotation:
 * - rename + reopen (logrotate's default, nginx's USR1): the path gets a new inode. The old file
 *   stays open here and is read to its end; once it has not grown for `rotateGraceMs` (nginx's
 *   workers may still flush to it briefly after USR1), the new file is read from its start.
 * - copytruncate: the same inode shrinks below the offset (or its bytes before the offset no
 *   longer match the fingerprint). What was written between the last read and the truncation is
 *   in the copy: a sibling file (`access.log.1`, `access.log-20261123`, ...) whose bytes before
 *   the offset match the fingerprint is read from the offset to its end, then the truncated file
 *   from its start. (copytruncate itself can lose lines written between its copy and its
 *   truncate; logrotate documents this.)
 * - while the console was stopped: a checkpoint whose inode is no longer at the path is looked
 *   for among the siblings (renamed) and finished first; a same-inode file that no longer
 *   matches the fingerprint is treated as copytruncate.
 * Compressed rotations (`.gz`, ...) are not read: keep `delaycompress` so the newest rotation
 * stays plain.
 */
import { createHash } from 'crypto';
import { promises as fsp, Stats } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { Batch, InvalidSink, addLine, newBatch } from './lines';
import { Checkpoint } from '../store/types';

export interface TailerOptions {
  path: string;
  /** Saves a batch and the checkpoint after it, atomically where the store can. */
  ingest(batch: Batch, checkpoint: Checkpoint): Promise<void>;
  loadCheckpoint(name: string): Promise<string | null>;
  onInvalid: InvalidSink;
  /** Events worth a log line: rotations, recoveries, possible losses. */
  log?: (msg: string) => void;
  onRotation?: (kind: 'rename' | 'truncate') => void;
  pollMs?: number;
  rotateGraceMs?: number;
  /** Bytes read per step (default 4 MiB); also the longest line accepted. */
  chunkBytes?: number;
  /** Lines per store transaction (default 10000). */
  batchLines?: number;
}

interface Saved {
  ino: number;
  pos: number;
  fp: string;
}

const FP_BYTES = 4096;
const NL = 0x0a;

export class Tailer {
  readonly name: string;
  private readonly path: string;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly chunk: number;
  private readonly batchLines: number;
  private fh: fsp.FileHandle | null = null;
  private ino = -1;
  private pos = 0;
  private fp: Buffer = Buffer.alloc(0);
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private rotatedSince = 0;
  private first = true;
  private buf: Buffer;
  /** Bytes known to be in the file and not yet read (for a lag metric). */
  lagBytes = 0;
  lastError: string | null = null;

  constructor(private readonly opts: TailerOptions) {
    this.path = resolve(opts.path);
    this.name = 'file:' + this.path;
    this.pollMs = opts.pollMs ?? 250;
    this.graceMs = opts.rotateGraceMs ?? 1000;
    this.chunk = opts.chunkBytes ?? 4 * 1024 * 1024;
    this.batchLines = opts.batchLines ?? 10000;
    this.buf = Buffer.allocUnsafe(this.chunk);
  }

  private log(msg: string): void {
    this.opts.log?.(`tail ${this.path}: ${msg}`);
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.loop) await this.loop;
    this.loop = null;
    if (this.fh) await this.fh.close().catch(() => undefined);
    this.fh = null;
  }

  /** Reads everything there is now (tests and the benchmark call this instead of waiting). */
  async drain(): Promise<void> {
    while (await this.step()) {
      /* keep reading */
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let progressed = false;
      try {
        progressed = await this.step();
        this.lastError = null;
      } catch (e) {
        const msg = (e as Error).message;
        if (msg !== this.lastError) this.log('error: ' + msg);
        this.lastError = msg;
      }
      if (!progressed && !this.stopped) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.pollMs);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.wake = null;
      }
    }
  }

  /** One step: open if needed, read one chunk, or check for rotation. True if it made progress. */
  private async step(): Promise<boolean> {
    if (!this.fh) return this.open();
    const n = await this.readChunk(this.fh);
    if (n > 0) return true;
    return this.checkRotation();
  }

  private async statPath(): Promise<Stats | null> {
    try {
      return await fsp.stat(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  private async open(): Promise<boolean> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const st = await fh.stat();
    let start = 0;
    if (this.first) {
      this.first = false;
      const raw = await this.opts.loadCheckpoint(this.name);
      const saved = raw ? (JSON.parse(raw) as Saved) : null;
      if (saved) {
        const fp = Buffer.from(saved.fp, 'base64');
        if (saved.ino === st.ino && st.size >= saved.pos && (await matches(fh, saved.pos, fp))) {
          start = saved.pos;
        } else if (saved.ino !== st.ino) {
          this.log(`rotated while the console was stopped; looking for the rest of inode ${saved.ino}`);
          await this.recover((s) => s.ino === saved.ino, saved, 'renamed');
        } else {
          this.log('truncated while the console was stopped (copytruncate); looking for the copy');
          await this.recover((s) => s.ino !== saved.ino, saved, 'copied');
        }
      }
    }
    this.fh = fh;
    this.ino = st.ino;
    this.pos = start;
    this.fp = start > 0 ? await readFp(fh, start) : Buffer.alloc(0);
    this.rotatedSince = 0;
    if (start > 0) this.log(`resuming at byte ${start}`);
    return true;
  }

  /** Reads one chunk from `pos` and ingests its complete lines. Returns bytes consumed. */
  private async readChunk(fh: fsp.FileHandle): Promise<number> {
    const { bytesRead } = await fh.read(this.buf, 0, this.chunk, this.pos);
    if (bytesRead === 0) {
      this.lagBytes = 0;
      return 0;
    }
    const data = this.buf.subarray(0, bytesRead);
    let end = data.lastIndexOf(NL);
    if (end < 0) {
      if (bytesRead < this.chunk) return 0; // a line still being written
      // A "line" longer than a chunk: not a record. Skip to the next newline.
      const skipTo = await this.findNewline(fh, this.pos + bytesRead);
      if (skipTo < 0) return 0;
      this.opts.onInvalid(this.name, 'too_long', `line longer than ${this.chunk} bytes`, data.subarray(0, 200).toString());
      const consumed = skipTo + 1 - this.pos;
      await this.commit(fh, newBatch(), skipTo + 1);
      return consumed;
    }
    let batch = newBatch();
    let lines = 0;
    let start = 0;
    const base = this.pos;
    while (start <= end) {
      const nl = data.indexOf(NL, start);
      addLine(batch, data.toString('utf8', start, nl), this.name, this.opts.onInvalid);
      start = nl + 1;
      if (++lines >= this.batchLines && start <= end) {
        await this.commit(fh, batch, base + start);
        batch = newBatch();
        lines = 0;
      }
    }
    await this.commit(fh, batch, base + end + 1);
    const st = await fh.stat();
    this.lagBytes = Math.max(0, st.size - this.pos);
    return end + 1;
  }

  private async findNewline(fh: fsp.FileHandle, from: number): Promise<number> {
    let at = from;
    for (;;) {
      const { bytesRead } = await fh.read(this.buf, 0, this.chunk, at);
      if (bytesRead === 0) return -1;
      const i = this.buf.subarray(0, bytesRead).indexOf(NL);
      if (i >= 0) return at + i;
      at += bytesRead;
    }
  }

  private async commit(fh: fsp.FileHandle, batch: Batch, newPos: number): Promise<void> {
    const fp = await readFp(fh, newPos);
    const saved: Saved = { ino: this.ino, pos: newPos, fp: fp.toString('base64') };
    await this.opts.ingest(batch, { name: this.name, value: JSON.stringify(saved) });
    this.pos = newPos;
    this.fp = fp;
  }

  private async checkRotation(): Promise<boolean> {
    const fh = this.fh!;
    const st = await this.statPath();
    const fst = await fh.stat();
    if (st && st.ino !== this.ino) {
      // Renamed and a new file created: finish the old one first.
      const now = Date.now();
      if (this.rotatedSince === 0) {
        this.rotatedSince = now;
        return false;
      }
      if (now - this.rotatedSince < this.graceMs) return false;
      const rest = fst.size - this.pos;
      if (rest > 0) {
        this.log(`rotated: ${rest} bytes at the end of the old file without a newline, dropped`);
        this.opts.onInvalid(this.name, 'json', 'incomplete last line of a rotated file', '');
      }
      this.log('rotated (rename): reading the new file');
      this.opts.onRotation?.('rename');
      await fh.close();
      this.fh = null;
      this.first = false;
      return this.openFresh();
    }
    if (st && (fst.size < this.pos || !(await matches(fh, this.pos, this.fp)))) {
      this.log('truncated (copytruncate): reading the rest from the copy, then the file from its start');
      this.opts.onRotation?.('truncate');
      const saved: Saved = { ino: this.ino, pos: this.pos, fp: this.fp.toString('base64') };
      await this.recover((s) => s.ino !== saved.ino, saved, 'copied');
      this.pos = 0;
      this.fp = Buffer.alloc(0);
      await this.commit(fh, newBatch(), 0);
      return true;
    }
    return false;
  }

  private async openFresh(): Promise<boolean> {
    const ok = await this.open();
    if (ok) await this.commit(this.fh!, newBatch(), 0);
    return ok;
  }

  /**
   * Reads the remainder (from saved.pos) of a sibling of the log file that `which` accepts and
   * whose bytes before saved.pos match the fingerprint. Logs when none is found: those bytes may
   * be lost (deleted or compressed before they were read).
   */
  private async recover(which: (s: Stats) => boolean, saved: Saved, how: string): Promise<void> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    const fp = Buffer.from(saved.fp, 'base64');
    let names: string[] = [];
    try {
      names = await fsp.readdir(dir);
    } catch {
      /* unreadable directory: nothing to recover */
    }
    const candidates = names
      .filter((n) => n !== base && n.startsWith(base) && !/\.(gz|bz2|xz|zst|z|zip|lz4)$/i.test(n))
      .sort();
    for (const n of candidates) {
      const p = join(dir, n);
      let fh: fsp.FileHandle | null = null;
      try {
        fh = await fsp.open(p, 'r');
        const st = await fh.stat();
        if (!st.isFile() || !which(st) || st.size < saved.pos) continue;
        if (!(await matches(fh, saved.pos, fp))) continue;
        const before = this.pos;
        const ino = this.ino;
        this.pos = saved.pos;
        this.ino = st.ino;
        this.fp = fp;
        while ((await this.readChunk(fh)) > 0) {
          /* read to its end */
        }
        this.log(`read the rest of the ${how} file ${n} (${this.pos - saved.pos} bytes)`);
        this.pos = before;
        this.ino = ino;
        return;
      } finally {
        await fh?.close().catch(() => undefined);
      }
    }
    this.log(`no ${how} file with the unread rest was found: records after byte ${saved.pos} of the old file may be lost`);
  }
}

/** Fingerprint of the bytes before `pos`: sha256 of up to FP_BYTES of them, empty at 0. */
async function readFp(fh: fsp.FileHandle, pos: number): Promise<Buffer> {
  if (pos <= 0) return Buffer.alloc(0);
  const start = Math.max(0, pos - FP_BYTES);
  const b = Buffer.alloc(pos - start);
  const { bytesRead } = await fh.read(b, 0, b.length, start);
  if (bytesRead < b.length) return Buffer.from('short');
  return createHash('sha256').update(b).digest();
}

async function matches(fh: fsp.FileHandle, pos: number, fp: Buffer): Promise<boolean> {
  if (fp.length === 0) return true;
  const b = await readFp(fh, pos);
  return b.equals(fp);
}
