/**
 * Follows the module's log file and its rotated siblings, as the log shippers operators trust do
 * (Vector's file source, Fluent Bit's tail with its database, Filebeat's registry), and hands
 * complete lines to the store.
 *
 * Files: the log path and the plain files next to it whose names start with its name
 * (`api_sessions.log*`: `.1`, `-20261123`, ...; compressed ones such as `.gz` are skipped), the
 * newest `maxFiles` of them by modification time. Each is identified by a fingerprint of its first
 * bytes (sha256 of its first line, at most 4 KiB), not by its path nor its inode: a renamed file
 * keeps its fingerprint, a file truncated and written again gets a new one, and a copy
 * (copytruncate's `.1`) has the one of the original. A file whose first line is not complete yet
 * is left until it is.
 *
 * Position: a registry with one entry per file {fingerprint, offset, size seen, finished} is saved
 * as the tailer's checkpoint in the same store transaction as the records read (one value, so
 * that moving from one file to the next is atomic too). A restart resumes every file at its
 * offset; a file never seen before (created while the console was stopped, or in between two
 * polls) is read from its start. Records are identified by request id, so a line read twice is
 * stored once anyway.
 *
 * Letting go: every registered file is looked at on every poll and read whenever it is longer than
 * its offset, wherever it was renamed to. Its handle is closed (the file is "finished") only once
 * it has been read to its end, has not grown for `rotateGraceMs`, and the log path holds another
 * file that nginx writes to. A file deleted while open is read to its end through its handle.
 *
 * Loss: when a file that was not finished disappears (deleted or compressed before it was read,
 * or truncated without a plain copy) or a copy is shorter than what was seen of the original,
 * the bytes that were not read cannot be recovered: each such event is counted, logged once with
 * the file and the byte range, and kept in `losses` (for /api/status and the UI).
 */
import { createHash } from 'crypto';
import { promises as fsp, Stats } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { Batch, InvalidSink, MAX_LINE_BYTES, addLine, newBatch } from './lines';
import { Checkpoint } from '../store/types';

export interface TailerOptions {
  path: string;
  /** Saves a batch and the checkpoint after it, atomically where the store can. */
  ingest(batch: Batch, checkpoint: Checkpoint): Promise<void>;
  loadCheckpoint(name: string): Promise<string | null>;
  onInvalid: InvalidSink;
  /** Events worth a log line: rotations, recoveries, losses. */
  log?: (msg: string) => void;
  /** A new file found (nginx writes to a new file): `truncate` when it took the inode of the
   *  file the log path held before (copytruncate), `rename` otherwise. */
  onRotation?: (kind: 'rename' | 'truncate') => void;
  /** Records that may be lost: called once per event. */
  onLoss?: (loss: TailLoss) => void;
  /** Unread bytes in the files followed, after every poll and every batch. */
  onLag?: (bytes: number) => void;
  pollMs?: number;
  /** How long a file nginx no longer writes to must stay unchanged before it is let go (default 5 s). */
  rotateGraceMs?: number;
  /** Rotated siblings followed, newest first (default 20, the log path included). */
  maxFiles?: number;
  /** Bytes read per step (default MAX_LINE_BYTES); also the longest line accepted. */
  chunkBytes?: number;
  /** Lines per store transaction (default 10000). */
  batchLines?: number;
}

export interface TailLoss {
  /** When it was found, ISO time. */
  at: string;
  /** The file's last known path. */
  file: string;
  /** First byte not read. */
  from: number;
  /** End of the bytes known to be lost (the file's size when last seen), null when unknown: the
   *  file may have grown between the last look and its disappearance. */
  to: number | null;
  reason: 'gone' | 'truncated';
}

export interface TailedFile {
  file: string;
  offset: number;
  size: number;
  finished: boolean;
}

/** One file followed (in memory). */
interface FileState {
  fp: string;
  pos: number;
  /** Size when last seen (stat), at least `pos`. */
  size: number;
  ino: number;
  path: string;
  fh: fsp.FileHandle | null;
  /** When its size last changed (or it was registered), ms. */
  changedAt: number;
  finished: boolean;
  /** Consecutive polls that did not find it. */
  missing: number;
  /** Held the log path at the last poll. */
  atMain: boolean;
  /** Registration order: older files are read first. */
  order: number;
}

/** The registry as saved (short keys: it is written with every batch). */
interface SavedFile {
  f: string;
  p: number;
  s: number;
  i: number;
  n: string;
  d?: 1;
  /** Held the log path. */
  m?: 1;
}
interface Registry {
  v: 2;
  files: SavedFile[];
}
/** The checkpoint before the registry: one file, its inode and a hash of the 4 KiB before the offset. */
interface LegacySaved {
  ino: number;
  pos: number;
  fp: string;
}

interface Found {
  path: string;
  st: Stats;
  main: boolean;
  fp: string | null;
}

const FP_BYTES = 4096;
const NL = 0x0a;
const COMPRESSED = /\.(gz|bz2|xz|zst|z|zip|lz4|lzma|lzo|br)$/i;
const RECENT_LOSSES = 20;

export class Tailer {
  readonly name: string;
  private readonly path: string;
  private readonly dir: string;
  private readonly base: string;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly maxFiles: number;
  private readonly chunk: number;
  private readonly batchLines: number;
  private readonly files = new Map<string, FileState>();
  /** Fingerprints of unchanged files ("dev:ino" -> size, mtime, fingerprint), rebuilt every poll. */
  private fpCache = new Map<string, { size: number; mtimeMs: number; fp: string | null }>();
  private loaded = false;
  /** First poll after start without a saved registry: rotated files present then are history. */
  private startMode: 'fresh' | 'legacy' | 'normal' = 'normal';
  private legacy: LegacySaved | null = null;
  /** New files count as rotations once one file was followed. */
  private counting = false;
  private order = 0;
  /** Inode of the last file identified at the log path: a new file on it means copytruncate. */
  private mainIno = -1;
  private dirty = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private buf: Buffer;
  /** Bytes known to be in the followed files and not read yet (as of the last poll or batch). */
  lagBytes = 0;
  lastError: string | null = null;
  /** Why the log path gives nothing to read (missing, not a regular file), once that has lasted
   *  the rotation grace (or from the first look); null while it is there. Shown as lastError. */
  private pathProblem: string | null = null;
  private pathProblemSince: number | null = null;
  private looked = false;
  /** Loss events since start, and the bytes known lost in them. */
  lossCount = 0;
  lostBytes = 0;
  /** The newest loss events (at most 20). */
  readonly losses: TailLoss[] = [];

  constructor(private readonly opts: TailerOptions) {
    this.path = resolve(opts.path);
    this.dir = dirname(this.path);
    this.base = basename(this.path);
    this.name = 'file:' + this.path;
    this.pollMs = opts.pollMs ?? 250;
    this.graceMs = opts.rotateGraceMs ?? 5000;
    this.maxFiles = Math.max(1, opts.maxFiles ?? 20);
    this.chunk = opts.chunkBytes ?? MAX_LINE_BYTES;
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
    for (const f of this.files.values()) await this.closeHandle(f);
  }

  /** Reads everything there is now (tests and the benchmark call this instead of waiting). */
  async drain(): Promise<void> {
    while (await this.step()) {
      /* keep reading */
    }
  }

  /** The files followed, oldest first. */
  tailedFiles(): TailedFile[] {
    return this.ordered().map((f) => ({ file: f.path, offset: f.pos, size: f.size, finished: f.finished }));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let progressed = false;
      try {
        progressed = await this.step();
        this.lastError = this.pathProblem;
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

  /** One step: look at the files, then read one chunk of the oldest file with unread bytes. */
  private async step(): Promise<boolean> {
    if (!this.loaded) await this.load();
    await this.scan();
    for (const f of this.ordered()) {
      if (f.size <= f.pos) continue;
      if ((await this.readChunk(f)) > 0) return true;
    }
    await this.finishIdle();
    if (this.dirty) await this.commit(null, newBatch(), 0);
    this.updateLag();
    return false;
  }

  private ordered(): FileState[] {
    return [...this.files.values()].sort((a, b) => a.order - b.order);
  }

  private async load(): Promise<void> {
    const raw = await this.opts.loadCheckpoint(this.name);
    this.loaded = true;
    if (!raw) {
      this.startMode = 'fresh';
      return;
    }
    let saved: unknown;
    try {
      saved = JSON.parse(raw);
    } catch {
      saved = null;
    }
    const reg = saved as Registry | null;
    const old = saved as LegacySaved | null;
    if (reg && reg.v === 2 && Array.isArray(reg.files)) {
      const now = Date.now();
      for (const s of reg.files) {
        this.files.set(s.f, {
          fp: s.f,
          pos: s.p,
          size: Math.max(s.s, s.p),
          ino: s.i,
          path: join(this.dir, s.n),
          fh: null,
          changedAt: now,
          finished: s.d === 1,
          missing: 0,
          atMain: false,
          order: this.order++,
        });
        if (s.m === 1) this.mainIno = s.i;
      }
      this.counting = true;
    } else if (old && typeof old.ino === 'number' && typeof old.pos === 'number' && typeof old.fp === 'string') {
      this.startMode = 'legacy';
      this.legacy = old;
      this.counting = true;
    } else {
      this.log('checkpoint not understood: reading the log file from its start');
      this.startMode = 'fresh';
    }
  }

  /** Lists the log and its siblings, identifies them, follows moves, registers new files. */
  private async scan(): Promise<void> {
    const now = Date.now();
    let names: string[] = [];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    let raced = false;
    let found: Found[] = [];
    for (const n of names) {
      if (n !== this.base && (!n.startsWith(this.base) || COMPRESSED.test(n))) continue;
      const p = join(this.dir, n);
      let st: Stats;
      try {
        st = await fsp.stat(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        raced = true; // renamed or deleted between the listing and now
        continue;
      }
      if (st.isFile()) found.push({ path: p, st, main: n === this.base, fp: null });
    }
    this.checkPath(names.includes(this.base), found.some((f) => f.main), now);
    // The newest maxFiles (the log path always), identified oldest first.
    found.sort((a, b) => (a.main ? -1 : b.main ? 1 : b.st.mtimeMs - a.st.mtimeMs));
    found = found.slice(0, this.maxFiles).reverse();
    const cache = new Map<string, { size: number; mtimeMs: number; fp: string | null }>();
    for (const f of found) {
      const key = f.st.dev + ':' + f.st.ino;
      const c = this.fpCache.get(key);
      if (c && c.size === f.st.size && c.mtimeMs === f.st.mtimeMs && c.fp !== null) f.fp = c.fp;
      else {
        try {
          f.fp = await fingerprintPath(f.path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          raced = true;
        }
      }
      cache.set(key, { size: f.st.size, mtimeMs: f.st.mtimeMs, fp: f.fp });
    }
    this.fpCache = cache;

    // One file per fingerprint: while copytruncate copies (and with logrotate's `copy`), the copy
    // and the original share it; the inode followed so far wins, then the longer file.
    const byFp = new Map<string, Found>();
    for (const f of found) {
      if (f.fp === null) continue;
      const prev = byFp.get(f.fp);
      const known = this.files.get(f.fp);
      if (!prev) byFp.set(f.fp, f);
      else if (f.st.ino === prev.st.ino) {
        if (f.main) byFp.set(f.fp, f); // hard links: the log path's name
      }
      else if (known && prev.st.ino !== known.ino && (f.st.ino === known.ino || f.st.size > prev.st.size)) byFp.set(f.fp, f);
      else if (!known && f.st.size > prev.st.size) byFp.set(f.fp, f);
    }

    if (this.startMode === 'legacy' && this.legacy) await this.adoptLegacy(this.legacy, found);
    const startMode = this.startMode;
    this.startMode = 'normal';
    const history: string[] = [];

    for (const [fp, f] of byFp) {
      let s = this.files.get(fp);
      if (!s) {
        const isHistory = startMode !== 'normal' && !f.main;
        s = {
          fp,
          pos: isHistory ? f.st.size : 0,
          size: f.st.size,
          ino: f.st.ino,
          path: f.path,
          fh: null,
          changedAt: now,
          finished: isHistory,
          missing: 0,
          atMain: f.main,
          order: this.order++,
        };
        this.files.set(fp, s);
        this.dirty = true;
        if (isHistory) history.push(basename(f.path));
        else if (this.counting) {
          const kind = f.main && f.st.ino === this.mainIno ? 'truncate' : 'rename';
          this.log(`new file ${basename(f.path)} (${kind === 'truncate' ? 'truncated and written again' : 'rotated'}): reading it from its start`);
          this.opts.onRotation?.(kind);
        }
        if (!isHistory) this.counting = true;
        if (f.main) this.mainIno = f.st.ino;
        continue;
      }
      if (s.ino !== f.st.ino) {
        // Another inode holds it now: a copy (copytruncate), the original being truncated.
        if (s.fh) await this.closeHandle(s);
        const end = Math.max(s.pos, f.st.size);
        if (s.size > end) this.lose(s, end, s.size, 'truncated');
        this.log(`${basename(s.path)} continues in the copy ${basename(f.path)} at byte ${s.pos}`);
        s.ino = f.st.ino;
        s.size = Math.max(f.st.size, s.pos);
        s.changedAt = now;
        this.dirty = true;
      }
      if (s.path !== f.path) this.dirty = true;
      s.path = f.path;
      s.missing = 0;
      s.atMain = f.main;
      if (f.main) this.mainIno = f.st.ino;
      if (f.st.size !== s.size) {
        s.size = Math.max(f.st.size, s.pos);
        s.changedAt = now;
      }
      if (s.finished && (f.main || f.st.size > s.pos)) {
        s.finished = false;
        this.dirty = true;
      }
    }

    if (history.length > 0) this.log(`first start: ${history.join(', ')} rotated before it, not read`);

    // Files not found: still readable through an open handle (deleted, or moved out of the
    // glob), otherwise gone.
    for (const s of [...this.files.values()]) {
      if (byFp.has(s.fp)) continue;
      s.atMain = false;
      if (s.fh) {
        let st: Stats | null = null;
        if ((await fingerprintHandle(s.fh)) === s.fp) st = await s.fh.stat();
        if (st) {
          s.missing = 0;
          if (st.size !== s.size) {
            s.size = Math.max(st.size, s.pos);
            s.changedAt = now;
          }
          if (s.pos >= s.size && now - s.changedAt >= this.graceMs) {
            await this.closeHandle(s);
            this.files.delete(s.fp);
            this.dirty = true;
          }
          continue;
        }
        await this.closeHandle(s);
      }
      if (raced) continue;
      if (++s.missing < 2) continue;
      this.files.delete(s.fp);
      this.dirty = true;
      if (!s.finished) {
        const main = found.find((f) => f.main);
        this.lose(s, s.pos, s.size > s.pos ? s.size : null, main && main.st.ino === s.ino ? 'truncated' : 'gone');
      }
    }
  }

  /** The first poll after an upgrade: the old checkpoint's file (same inode, same bytes before
   *  the offset) continues at its offset, the log path (if another file) is read from its start,
   *  the other rotated files are history. */
  private async adoptLegacy(old: LegacySaved, found: Found[]): Promise<void> {
    this.legacy = null;
    const want = Buffer.from(old.fp, 'base64');
    for (const f of found) {
      if (f.fp === null || f.st.ino !== old.ino || f.st.size < old.pos) continue;
      const fh = await fsp.open(f.path, 'r');
      try {
        if (!(await legacyHash(fh, old.pos)).equals(want)) continue;
      } finally {
        await fh.close().catch(() => undefined);
      }
      this.files.set(f.fp, {
        fp: f.fp,
        pos: old.pos,
        size: f.st.size,
        ino: f.st.ino,
        path: f.path,
        fh: null,
        changedAt: Date.now(),
        finished: false,
        missing: 0,
        atMain: f.main,
        order: this.order++,
      });
      if (f.main) this.mainIno = f.st.ino;
      this.log(`checkpoint of the previous version: ${basename(f.path)} continues at byte ${old.pos}`);
      return;
    }
    this.log(`checkpoint of the previous version: its file (inode ${old.ino}) was not found; records after its byte ${old.pos} may be lost`);
  }

  /** Closes the handles of files read to their end that nginx no longer writes to. */
  private async finishIdle(): Promise<void> {
    const now = Date.now();
    const main = [...this.files.values()].find((x) => x.atMain);
    if (!main) return; // nginx has not written to a new file yet (e.g. logrotate `create`, signal to come)
    for (const s of this.files.values()) {
      if (s.finished || s.atMain || now - s.changedAt < this.graceMs) continue;
      if (s.size > s.pos) {
        // Idle, nginx elsewhere, and no newline at its end: the last line was cut.
        const rest = s.size - s.pos;
        this.log(`${basename(s.path)}: ${rest} bytes at its end without a newline, dropped`);
        this.opts.onInvalid(this.name, 'json', 'incomplete last line of a rotated file', '');
        s.pos = s.size;
      }
      s.finished = true;
      this.dirty = true;
      await this.closeHandle(s);
      this.log(`finished ${basename(s.path)} (${s.pos} bytes)`);
    }
  }

  private lose(s: FileState, from: number, to: number | null, reason: TailLoss['reason']): void {
    const loss: TailLoss = { at: new Date().toISOString(), file: s.path, from, to, reason };
    this.lossCount++;
    if (to !== null) this.lostBytes += to - from;
    this.losses.push(loss);
    if (this.losses.length > RECENT_LOSSES) this.losses.shift();
    const range = to === null ? `from byte ${from} on (its end is unknown)` : `bytes ${from}-${to} (${to - from} bytes)`;
    const why = reason === 'truncated' ? 'truncated before they were read and not found in a copy' : 'gone before they were read';
    this.log(`records may be lost: ${s.path} ${range}: ${why}`);
    this.opts.onLoss?.(loss);
  }

  private async closeHandle(s: FileState): Promise<void> {
    const fh = s.fh;
    s.fh = null;
    if (fh) await fh.close().catch(() => undefined);
  }

  /** A log path that is missing, or is not a file, is said once (logged and in lastError): at the
   *  first look, or after the rotation grace (a rotation leaves it missing for a moment). */
  private checkPath(listed: boolean, isFile: boolean, now: number): void {
    const first = !this.looked;
    this.looked = true;
    if (isFile) {
      if (this.pathProblem !== null) this.log('the log file is there now: reading it');
      this.pathProblem = null;
      this.pathProblemSince = null;
      return;
    }
    if (this.pathProblemSince === null) this.pathProblemSince = now;
    if (this.pathProblem !== null || (!first && now - this.pathProblemSince < this.graceMs)) return;
    this.pathProblem = listed
      ? `${this.path} is not a regular file: nothing is read from it`
      : `${this.path} does not exist${this.files.size === 0 ? '' : ' any more'}: nothing is read until it appears (is --log the file nginx writes, and is it readable by this user?)`;
    this.log(this.pathProblem);
  }

  /** A handle on the file, checked to hold its fingerprint; null when it does not (any more). */
  private async handle(s: FileState): Promise<fsp.FileHandle | null> {
    if (!s.fh) {
      try {
        s.fh = await fsp.open(s.path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    }
    if ((await fingerprintHandle(s.fh)) !== s.fp) {
      await this.closeHandle(s);
      return null;
    }
    return s.fh;
  }

  /** Reads one chunk of `s` from its offset and ingests its complete lines. Returns bytes consumed. */
  private async readChunk(s: FileState): Promise<number> {
    const fh = await this.handle(s);
    if (!fh) return 0;
    const { bytesRead } = await fh.read(this.buf, 0, this.chunk, s.pos);
    if (bytesRead === 0) return 0;
    // Checked after the read: had the file been truncated and written again before it, the bytes
    // read are not this file's (the next poll finds where its fingerprint went).
    if ((await fingerprintHandle(fh)) !== s.fp) {
      await this.closeHandle(s);
      return 0;
    }
    const data = this.buf.subarray(0, bytesRead);
    const end = data.lastIndexOf(NL);
    if (end < 0) {
      if (bytesRead < this.chunk) return 0; // a line still being written
      // A "line" longer than a chunk: not a record. Skip to the next newline.
      const skipTo = await this.findNewline(fh, s.pos + bytesRead);
      if (skipTo < 0) return 0;
      this.opts.onInvalid(this.name, 'too_long', `line longer than ${this.chunk} bytes`, data.subarray(0, 200).toString());
      const consumed = skipTo + 1 - s.pos;
      await this.commit(s, newBatch(), skipTo + 1);
      return consumed;
    }
    let batch = newBatch();
    let lines = 0;
    let start = 0;
    const base = s.pos;
    while (start <= end) {
      const nl = data.indexOf(NL, start);
      addLine(batch, data.toString('utf8', start, nl), this.name, this.opts.onInvalid);
      start = nl + 1;
      if (++lines >= this.batchLines && start <= end) {
        await this.commit(s, batch, base + start);
        batch = newBatch();
        lines = 0;
      }
    }
    await this.commit(s, batch, base + end + 1);
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

  /** Saves the batch with the registry in which `s` (if any) is at `newPos`. */
  private async commit(s: FileState | null, batch: Batch, newPos: number): Promise<void> {
    const files: SavedFile[] = [];
    for (const f of this.ordered()) {
      const pos = f === s ? newPos : f.pos;
      const e: SavedFile = { f: f.fp, p: pos, s: Math.max(f.size, pos), i: f.ino, n: basename(f.path) };
      if (f.finished) e.d = 1;
      if (f.atMain) e.m = 1;
      files.push(e);
    }
    const reg: Registry = { v: 2, files };
    await this.opts.ingest(batch, { name: this.name, value: JSON.stringify(reg) });
    this.dirty = false;
    if (s) {
      s.pos = newPos;
      if (s.size < newPos) s.size = newPos;
    }
    this.updateLag();
  }

  private updateLag(): void {
    let lag = 0;
    for (const f of this.files.values()) lag += Math.max(0, f.size - f.pos);
    this.lagBytes = lag;
    this.opts.onLag?.(lag);
  }
}

/** sha256 (hex, 128 bits) of the file's first line (at most FP_BYTES); null until that line is complete. */
function fingerprintOf(b: Buffer, n: number): string | null {
  const nl = b.subarray(0, n).indexOf(NL);
  if (nl < 0 && n < FP_BYTES) return null;
  return createHash('sha256')
    .update(b.subarray(0, nl < 0 ? n : nl + 1))
    .digest('hex')
    .slice(0, 32);
}

async function fingerprintHandle(fh: fsp.FileHandle): Promise<string | null> {
  const b = Buffer.alloc(FP_BYTES);
  const { bytesRead } = await fh.read(b, 0, FP_BYTES, 0);
  return fingerprintOf(b, bytesRead);
}

/** The previous version's checkpoint hash: sha256 of up to 4 KiB before `pos`, empty at 0. */
async function legacyHash(fh: fsp.FileHandle, pos: number): Promise<Buffer> {
  if (pos <= 0) return Buffer.alloc(0);
  const start = Math.max(0, pos - FP_BYTES);
  const b = Buffer.alloc(pos - start);
  const { bytesRead } = await fh.read(b, 0, b.length, start);
  if (bytesRead < b.length) return Buffer.from('short');
  return createHash('sha256').update(b).digest();
}

async function fingerprintPath(p: string): Promise<string | null> {
  const fh = await fsp.open(p, 'r');
  try {
    return await fingerprintHandle(fh);
  } finally {
    await fh.close().catch(() => undefined);
  }
}
