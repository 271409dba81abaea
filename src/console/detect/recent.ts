/**
 * A bounded map that keeps what was used recently: two generations, the current one and the one
 * before. A key found in the older generation moves to the current one; when the current one is
 * full, the older one is dropped whole and the current one becomes the older. So at most `max`
 * entries are held, a lookup costs one or two Map reads (no reordering per hit, as an LRU list
 * would), and what goes is what was not used for the longest (by generation).
 */
export class Recent<V, K extends string | number = string> {
  private cur = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(
    max: number,
    /** Called for each entry let go (so that what it holds can be counted out). */
    private readonly onEvict?: (v: V) => void,
  ) {
    this.half = Math.max(1, Math.floor(max / 2));
  }

  get(key: K): V | undefined {
    const v = this.cur.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) {
      this.old.delete(key);
      this.set(key, o);
    }
    return o;
  }

  /** Without moving it to the current generation. */
  peek(key: K): V | undefined {
    return this.cur.get(key) ?? this.old.get(key);
  }

  set(key: K, v: V): void {
    if (this.cur.size >= this.half && !this.cur.has(key)) this.rotate();
    this.cur.set(key, v);
  }

  /** Lets the older generation go now: the current one becomes the older. */
  rotate(): void {
    if (this.onEvict) for (const v of this.old.values()) this.onEvict(v);
    this.old = this.cur;
    this.cur = new Map();
  }

  delete(key: K): void {
    const v = this.cur.get(key) ?? this.old.get(key);
    if (v !== undefined && this.onEvict) this.onEvict(v);
    this.cur.delete(key);
    this.old.delete(key);
  }

  get size(): number {
    return this.cur.size + this.old.size;
  }

  *values(): IterableIterator<V> {
    yield* this.old.values();
    yield* this.cur.values();
  }

  clear(): void {
    this.cur.clear();
    this.old.clear();
  }
}
