/**
 * Signed-out sign-in cookies, remembered until they expire, also across restarts: a file beside
 * the database, one line per sign-out (`<nonce> <expiry ms>`) appended as it happens, and a
 * `floor <ms>` line: every cookie expiring at or before the floor is refused. Bounded: at most
 * `max` are remembered; past that the one expiring first is let go and the floor rises to its
 * expiry, so it stays refused (with every cookie issued before it: those sign in again). The
 * file is rewritten without the expired lines at start and when it holds twice the bound.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { dirname } from 'path';

export class SignOuts {
  private readonly revoked = new Map<string, number>(); // nonce -> expiry
  private floor = 0;
  private lines = 0;

  constructor(
    private readonly file: string | null,
    private readonly max: number,
    /** How long a sign-in lasts: a floor of now + ttl refuses every cookie issued until now. */
    private readonly ttl: number,
    private readonly now: () => number,
    private readonly log: (msg: string) => void,
  ) {
    if (file === null) return;
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        // Which cookies were signed out is unknown: refuse every cookie issued until now.
        this.floor = now() + ttl;
        log(`sign-outs not read (${(e as Error).message}): every sign-in made before now must sign in again`);
      }
    }
    if (text !== null) this.load(text);
    if (text !== null || this.floor > 0) this.rewrite();
  }

  private load(text: string): void {
    const t = this.now();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const m = /^(floor|[A-Za-z0-9_-]{1,64}) (\d{1,16})$/.exec(line);
      if (!m) {
        // A line cut short by a crash while appending: the sign-out it held is lost, so refuse
        // every cookie that could be it (any that is valid now).
        this.floor = Math.max(this.floor, t + this.ttl);
        this.log('sign-outs file has an unreadable line: every sign-in made before now must sign in again');
        continue;
      }
      const at = Number(m[2]);
      if (m[1] === 'floor') this.floor = Math.max(this.floor, at);
      else if (at > t) this.add(m[1], at);
    }
  }

  /** Whether a cookie with this nonce and expiry was signed out. */
  has(nonce: string, expires: number): boolean {
    return expires <= this.floor || this.revoked.has(nonce);
  }

  /** Remembers a sign-out, in memory and in the file. */
  signOut(nonce: string, expires: number): void {
    const floorBefore = this.floor;
    this.add(nonce, expires);
    if (this.file === null) return;
    try {
      // The first write makes the file (and its folder); past twice the bound it is compacted.
      if (this.lines === 0 || this.lines + 2 > 2 * this.max) this.rewrite();
      else {
        appendFileSync(this.file, (this.floor !== floorBefore ? `floor ${this.floor}\n` : '') + `${nonce} ${expires}\n`, { mode: 0o600 });
        this.lines += this.floor !== floorBefore ? 2 : 1;
      }
    } catch (e) {
      this.log(`sign-out not saved (${(e as Error).message}): it holds until the console restarts`);
    }
  }

  private add(nonce: string, expires: number): void {
    const t = this.now();
    if (this.revoked.size >= this.max) for (const [n, e] of this.revoked) if (e <= t) this.revoked.delete(n);
    while (this.revoked.size >= this.max) {
      let first: string | null = null;
      let soonest = Infinity;
      for (const [n, e] of this.revoked) if (e < soonest) (first = n), (soonest = e);
      this.revoked.delete(first as string);
      this.floor = Math.max(this.floor, soonest);
    }
    this.revoked.set(nonce, expires);
  }

  /** The file as it stands in memory (written beside it, then renamed: never half written). */
  private rewrite(): void {
    if (this.file === null) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const lines = [`floor ${this.floor}`];
      for (const [n, e] of this.revoked) lines.push(`${n} ${e}`);
      writeFileSync(this.file + '.new', lines.join('\n') + '\n', { mode: 0o600 });
      renameSync(this.file + '.new', this.file);
      this.lines = lines.length;
    } catch (e) {
      this.log(`sign-outs file not written (${(e as Error).message}): sign-outs hold until the console restarts`);
    }
  }
}
