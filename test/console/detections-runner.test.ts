/**
 * The detections' runner between ingest and the store: an attack in progress changes its finding
 * with every batch, yet findings are written at most once a second; nothing is lost by it: what
 * changed since the last write is written before a read asks (save) and at shutdown (close).
 * The detector runs on its own thread: it finds there what it finds in-line, from the records'
 * text; the records waiting for it are bounded; a thread that ended is replaced.
 */
import { join } from 'path';
import { detectionConfig } from '../../src/console/detect/config';
import { Worker } from 'worker_threads';
import { generateTraffic } from '../../bench/detections-traffic';
import { Detector } from '../../src/console/detect/detector';
import { DETECTION_KINDS, Finding } from '../../src/console/detect/finding';
import { Detections, MAX_IN_FLIGHT, textsOf } from '../../src/console/detect/runner';
import { SqliteStore } from '../../src/console/store/sqlite';
import { SessionRecord } from '../../src/shared/record';
import { rec, tempDir, TODAY } from './helpers';

const tmp = tempDir('api-sessions-detections-runner-');
afterAll(() => tmp.cleanup());

/** mallory walking orders 500.. one a batch, mostly refused. */
const step = (i: number): SessionRecord => rec({ s: 'mallory', at: TODAY + i * 2000 + ((i * 37) % 11) * 150, user: 'mallory', path: `/orders/${500 + i}`, status: i % 5 ? 403 : 200 });

test('a finding that changes with every batch is written at most once a second, and whole before a read and at close', async () => {
  const store = new SqliteStore(join(tmp.dir, 'runner.db'));
  const writes: number[] = [];
  const save = store.detections!.save.bind(store.detections!);
  store.detections!.save = async (updates) => {
    writes.push(updates.length);
    return save(updates);
  };
  // One finding to follow: the walk is also a crawl (ids one after another, nothing else).
  const detections = new Detections({ store, config: detectionConfig({ scripted: { crawl_requests: 0 } }) });
  await detections.start();
  try {
    // 60 batches of one request each, as fast as ingest hands them over (well within a second).
    const t0 = Date.now();
    for (let i = 0; i < 60; i++) {
      const r = step(i);
      await store.ingest([r], undefined, undefined, []);
      await detections.observe([r]);
    }
    const elapsed = Date.now() - t0;
    // The walk made a finding and changed it with each later batch; one write per started second.
    expect((await detections.status())!.opened).toBe(1);
    expect(writes.length).toBeLessThanOrEqual(1 + Math.floor(elapsed / 1000));
    // A read first writes what changed since: the finding as it stands, all 60 requests counted.
    await detections.save();
    const [f] = (await store.detections!.list({ kind: 'enumeration' }, { limit: 10 })).items;
    expect(f).toMatchObject({ kind: 'enumeration', requests: expect.any(Number) });
    expect(f.measured.to_id).toBe(559);
    // A later change reaches the store at close, without waiting for the clock.
    const r = step(60);
    await store.ingest([r], undefined, undefined, []);
    await detections.observe([r]);
    await detections.close();
    const [g] = (await store.detections!.list({ kind: 'enumeration' }, { limit: 10 })).items;
    expect(g.measured.to_id).toBe(560);
  } finally {
    await detections.close();
    await store.close();
  }
});

/** A finding as it reads at the end, without what depends on when it was written (its id, its
 *  write time) or on the order of writes (its evidence). */
const gist = (f: Finding) => `${f.kind} ${f.rule} [${[...f.rules].sort().join(',')}] ${f.app} ${f.subject_type}=${f.subject} sessions=${f.sessions_total} users=${[...f.users].sort().join(',')}`;

test('on its own thread the detector finds what it finds in-line, from the records as ingest read them', async () => {
  // Normal people and every attack variant, two hours ending at TODAY, as a log's lines.
  const traffic = [...generateTraffic({ seed: 11, actors: 300, campaigns: 1, start: TODAY - 2 * 3600000, hours: 2 }).records];
  const texts = traffic.map((r) => JSON.stringify(r));
  const config = detectionConfig();

  const inline = new Detector(config);
  const expected = new Map<string, Finding>();
  const store = new SqliteStore(join(tmp.dir, 'thread.db'));
  const detections = new Detections({ store, config });
  await detections.start();
  try {
    for (let i = 0; i < traffic.length; i += 250) {
      // Parsed from the text as the tailer parses it: the thread gets the text, not these objects.
      const batch = { records: texts.slice(i, i + 250).map((t) => JSON.parse(t) as SessionRecord), raws: texts.slice(i, i + 250) };
      const fresh: SessionRecord[] = [];
      await store.ingest(batch.records, undefined, batch.raws, fresh);
      await detections.observe(fresh, batch);
      inline.observe(fresh);
      for (const u of inline.flush()) expected.set(u.finding.id, structuredClone(u.finding));
    }
    await detections.save();
    expect((await detections.status())!.observed).toBe(traffic.length);
    const found = (await store.detections!.list({}, { limit: 1000 })).items;
    expect(expected.size).toBeGreaterThan(10);
    expect(new Set(found.map((f) => f.kind))).toEqual(new Set(DETECTION_KINDS));
    expect(found.map(gist).sort()).toEqual([...expected.values()].map(gist).sort());
  } finally {
    await detections.close();
    await store.close();
  }
});

test(`at most ${MAX_IN_FLIGHT} records wait for the rules: beyond that, ingest waits for them`, async () => {
  const store = new SqliteStore(join(tmp.dir, 'bound.db'));
  const detections = new Detections({ store, config: detectionConfig() });
  await detections.start();
  try {
    const many = Array.from({ length: MAX_IN_FLIGHT + 5000 }, (_, i) => rec({ s: `visitor${i % 3000}`, at: TODAY + i * 10, path: `/products/${i % 97}` }));
    await detections.observe(many);
    expect(detections.inFlight).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    // A small batch is handed over without waiting for the rules.
    await detections.observe(many.slice(0, 10).map((r) => ({ ...r, request_id: r.request_id + 'x' })));
    expect(detections.inFlight).toBeLessThanOrEqual(10);
    await detections.save();
    expect(detections.inFlight).toBe(0);
    expect((await detections.status())!.observed).toBe(MAX_IN_FLIGHT + 5010);
  } finally {
    await detections.close();
    await store.close();
  }
});

test('a thread that ended is replaced by the next batch, which the rules see', async () => {
  const store = new SqliteStore(join(tmp.dir, 'replaced.db'));
  const detections = new Detections({ store, config: detectionConfig({ scripted: { crawl_requests: 0 } }) });
  await detections.start();
  try {
    await detections.observe([step(0)]);
    expect((await detections.status())!.observed).toBe(1);
    const thread = (detections as unknown as { worker: Worker }).worker;
    await thread.terminate();
    expect(await detections.status()).toBeNull();
    const walk = Array.from({ length: 30 }, (_, i) => step(i + 1));
    await detections.observe(walk);
    expect((await detections.status())!.observed).toBe(30);
    await detections.save();
    expect((await store.detections!.list({ kind: 'enumeration' }, { limit: 10 })).items).toHaveLength(1);
  } finally {
    await detections.close();
    await store.close();
  }
});

test("each fresh record's text is the batch's, found in order; serialized where the batch lacks it", () => {
  const [a, b, c] = [step(1), step(2), step(3)];
  const other = step(4);
  const from = { records: [a, b, c], raws: ['A', 'B', 'C'] };
  expect(textsOf([a, c], from)).toEqual(['A', 'C']);
  expect(textsOf([b, other], from)).toEqual(['B', JSON.stringify(other)]);
  expect(textsOf([a, b])).toEqual([JSON.stringify(a), JSON.stringify(b)]);
});
