/**
 * The detector on a thread of its own (runner.ts starts it): ingest hands it each batch's newly
 * stored records as their JSON text, and goes on parsing and writing the next batch while the
 * rules run here, on the machine's other core.
 *
 * Messages in (protocol.ts, `ToWorker`) are handled in the order sent: a flush answers after every
 * batch sent before it. After each batch, the count of records done goes up in the shared
 * `progress` counter, which ingest reads without waiting for a message (its bound on records in
 * flight). Nothing thrown here ends the thread: a failure is reported, and the next batch runs.
 */
import { readlinkSync } from 'fs';
import { setPriority } from 'os';
import { parentPort, workerData } from 'worker_threads';
import { SessionRecord } from '../../shared/record';
import { Detector } from './detector';
import { FindingUpdate } from './finding';
import { FromWorker, ToWorker, WorkerSetup } from './protocol';

/** On Linux a thread has a nice value of its own: this one yields the core to ingest and to the
 *  store's checkpoint thread when they want it, and runs in their pauses (its backlog is bounded,
 *  so that ingest waits for it rather than memory grows). Elsewhere it runs at normal priority. */
function yieldToIngest(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) setPriority(tid, THREAD_NICE);
  } catch {
    // not Linux, or not allowed: normal priority
  }
}

const THREAD_NICE = 10;

function run(setup: WorkerSetup): void {
  yieldToIngest();
  const port = parentPort!;
  const send = (m: FromWorker) => port.postMessage(m);
  const progress = new Int32Array(setup.progress);
  const detector = new Detector(setup.config, {
    limits: setup.limits,
    onFinding: (kind, rule) => send({ t: 'found', kind, rule }),
  });
  /** Runs `f`; what it throws is reported as a failure of `what`, and the thread goes on. */
  const guarded = <T>(what: string, f: () => T, otherwise: T): T => {
    try {
      return f();
    } catch (e) {
      send({ t: 'failed', what, message: (e as Error)?.message ?? String(e) });
      return otherwise;
    }
  };

  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'observe':
        guarded('detection', () => detector.observe(m.lines.map((text) => JSON.parse(text) as SessionRecord)), undefined);
        Atomics.add(progress, 0, m.lines.length);
        Atomics.notify(progress, 0);
        return;
      case 'resume':
        return guarded('reading recent findings', () => detector.resume(m.findings), undefined);
      case 'tick':
        return guarded('detection', () => detector.tick(m.now), undefined);
      case 'flush':
        send({ t: 'flushed', id: m.id, updates: guarded('detection', () => detector.flush(), [] as FindingUpdate[]) });
        return;
      case 'status':
        send({ t: 'status', id: m.id, status: { observed: detector.observed, opened: detector.opened, held: detector.sizes() } });
        return;
    }
  });
}

if (parentPort && workerData && (workerData as { detections?: WorkerSetup }).detections) run((workerData as { detections: WorkerSetup }).detections);
