/**
 * The detections' runner between ingest and the store: an attack in progress changes its finding
 * with every batch, yet findings are written at most once a second; nothing is lost by it: what
 * changed since the last write is written before a read asks (save) and at shutdown (close).
 */
import { join } from 'path';
import { detectionConfig } from '../../src/console/detect/config';
import { Detections } from '../../src/console/detect/runner';
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
    expect(detections.detector.opened).toBe(1);
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
