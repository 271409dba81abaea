/**
 * npm run bench:detections: how well the detection rules tell attacks from people, on generated
 * traffic with ground truth (bench/detections-traffic.ts: normal people on a web shop, its
 * mobile app and its single-page app, and each attack in several variants).
 *
 * The records go through the console's detector (src/console/detect/) in a log's order and in
 * ingest batches of 250, as the console runs it. Then, per kind:
 *   - detected: attack sessions of the kind that a finding of the kind names, of all of them
 *     (the variants the rules are known not to see are listed apart, outside the targets);
 *   - false findings: findings (of the kind) that name a normal session, per 10,000 normal
 *     sessions.
 * Targets: >= 95% detected, <= 1 false finding per 10,000 normal sessions.
 *
 *   npm run bench:detections -- [--actors 40000] [--campaigns 40] [--seed 7] [--hours 8]
 *                               [--config detections.json] [--show 5]
 *
 * Not a test: nothing passes or fails; the figures go to docs/performance.md ("Detections").
 */
import { readFileSync } from 'fs';
import { parseArgs } from 'util';
import { Detector } from '../src/console/detect/detector';
import { detectionConfig } from '../src/console/detect/config';
import { DETECTION_KINDS, DetectionKind, Finding } from '../src/console/detect/finding';
import { SessionRecord } from '../src/shared/record';
import { VARIANTS, generateTraffic } from './detections-traffic';

const { values } = parseArgs({
  options: {
    actors: { type: 'string', default: '40000' },
    campaigns: { type: 'string', default: '40' },
    seed: { type: 'string', default: '7' },
    hours: { type: 'string', default: '8' },
    config: { type: 'string' },
    show: { type: 'string', default: '3' },
    missed: { type: 'string', default: '0' },
  },
});

const BATCH = 250;

function main(): void {
  const config = detectionConfig(values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {});
  const det = new Detector(config);
  const start = Math.floor(Date.now() / 86400000) * 86400000 - 86400000;
  const traffic = generateTraffic({ seed: Number(values.seed), actors: Number(values.actors), campaigns: Number(values.campaigns), start, hours: Number(values.hours) });
  const findings = new Map<string, Finding>();
  let batch: SessionRecord[] = [];
  let records = 0;
  let detectMs = 0;
  const run = () => {
    const t = process.hrtime.bigint();
    det.observe(batch);
    for (const u of det.flush()) findings.set(u.finding.id, u.finding);
    detectMs += Number(process.hrtime.bigint() - t) / 1e6;
    batch = [];
  };
  const t0 = Date.now();
  // A few requests of each session, to show what a false finding or a miss was about.
  const seen = new Map<string, string[]>();
  const keep = Number(values.show) > 0 || Number(values.missed) > 0;
  for (const r of traffic.records) {
    if (keep) {
      let l = seen.get(r.session);
      if (!l) seen.set(r.session, (l = []));
      if (l.length < (traffic.attacks.has(r.session) ? 40 : 12)) l.push(`${r.ts} ${r.key} ${r.ip} ${r.method} ${r.path} ${r.status} ${(r.ua ?? '').slice(0, 60)}${r.links?.length ? ' links' : ''}`);
    }
    batch.push(r);
    records++;
    if (batch.length === BATCH) run();
  }
  run();
  const wall = (Date.now() - t0) / 1000;

  const { attacks, sessions } = traffic;
  const normal = sessions.size - attacks.size;
  // Which sessions each kind's findings name.
  const named = new Map<DetectionKind, Set<string>>(DETECTION_KINDS.map((k) => [k, new Set()]));
  const falseFindings = new Map<DetectionKind, Finding[]>(DETECTION_KINDS.map((k) => [k, []]));
  const normalNamed = new Map<DetectionKind, Set<string>>(DETECTION_KINDS.map((k) => [k, new Set()]));
  for (const f of findings.values()) {
    let wrong = false;
    for (const s of f.sessions) {
      named.get(f.kind)!.add(s.session);
      if (!attacks.has(s.session)) {
        wrong = true;
        normalNamed.get(f.kind)!.add(s.session);
      }
    }
    if (wrong) falseFindings.get(f.kind)!.push(f);
  }

  const lines: string[] = [];
  const pct = (a: number, b: number) => (b === 0 ? '-' : ((100 * a) / b).toFixed(1) + '%');
  lines.push(`${records.toLocaleString('en')} records, ${sessions.size.toLocaleString('en')} sessions (${normal.toLocaleString('en')} normal, ${attacks.size.toLocaleString('en')} attack), ` +
    `${findings.size} findings; generated and detected in ${wall.toFixed(1)} s, of which the detector ${(detectMs / 1000).toFixed(1)} s ` +
    `(${Math.round(records / (detectMs / 1000)).toLocaleString('en')} records/s); seed ${values.seed}.`);
  lines.push('');
  lines.push('| kind | attack sessions detected | detected | false findings | per 10,000 normal sessions | normal sessions named | targets (>= 95%, <= 1) |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const kind of DETECTION_KINDS) {
    let total = 0;
    let found = 0;
    for (const [s, t] of attacks) {
      if (t.kind !== kind || !t.counted) continue;
      total++;
      if (named.get(kind)!.has(s)) found++;
    }
    const ff = falseFindings.get(kind)!.length;
    const per = (ff * 10000) / normal;
    const met = total > 0 && found / total >= 0.95 && per <= 1;
    lines.push(`| ${kind} | ${found} / ${total} | ${pct(found, total)} | ${ff} | ${per.toFixed(2)} | ${normalNamed.get(kind)!.size} | ${met ? 'met' : 'MISSED'} |`);
  }
  lines.push('');
  lines.push('| kind | variant | counted | attack sessions detected | detected |');
  lines.push('| --- | --- | --- | ---: | ---: |');
  for (const v of VARIANTS) {
    let total = 0;
    let found = 0;
    for (const [s, t] of attacks) {
      if (t.kind !== v.kind || t.variant !== v.variant) continue;
      total++;
      if (named.get(v.kind)!.has(s)) found++;
    }
    lines.push(`| ${v.kind} | ${v.variant}: ${v.what} | ${v.counted ? 'yes' : 'no (out of reach)'} | ${found} / ${total} | ${pct(found, total)} |`);
  }
  const rules = new Map<string, number>();
  for (const f of findings.values()) for (const r of f.rules) rules.set(`${f.kind}/${r}`, (rules.get(`${f.kind}/${r}`) ?? 0) + 1);
  lines.push('');
  lines.push('Findings by rule: ' + [...rules].sort().map(([k, n]) => `${k} ${n}`).join(', ') + '.');
  const mem = process.memoryUsage();
  lines.push(`Detector tables at the end: ${JSON.stringify(det.sizes())}; heap ${Math.round(mem.heapUsed / 1048576)} MiB.`);
  process.stdout.write(lines.join('\n') + '\n');

  const show = Number(values.show);
  for (const kind of DETECTION_KINDS) {
    const ff = falseFindings.get(kind)!;
    if (ff.length === 0 || show === 0) continue;
    const byRule = new Map<string, number>();
    for (const f of ff) byRule.set(f.rules.join('+'), (byRule.get(f.rules.join('+')) ?? 0) + 1);
    process.stdout.write(`\nFalse findings of ${kind} (${[...byRule].map(([r, n]) => `${r} ${n}`).join(', ')}; the first ${Math.min(show, ff.length)} of ${ff.length}):\n`);
    for (const f of ff.slice(0, show)) {
      process.stdout.write(`  ${f.rules.join('+')} ${f.subject_type} ${f.subject.slice(0, 60)}: ${f.summary}\n`);
      for (const e of f.evidence.slice(0, 4)) process.stdout.write(`    evidence ${e.ts} ${e.session.slice(0, 8)} ${e.ip} ${e.method} ${e.path} ${e.status} ${(e.ua ?? '').slice(0, 50)}\n`);
      for (const s of f.sessions.filter((x) => !attacks.has(x.session)).slice(0, 2)) {
        process.stdout.write(`    normal session ${s.session.slice(0, 8)}:\n`);
        for (const l of (seen.get(s.session) ?? []).slice(0, 12)) process.stdout.write(`      ${l}\n`);
      }
    }
  }

  const missed = Number(values.missed);
  if (missed > 0) {
    for (const v of VARIANTS) {
      const out: string[] = [];
      for (const [s, t] of attacks) if (t.kind === v.kind && t.variant === v.variant && !named.get(v.kind)!.has(s)) out.push(s);
      if (out.length === 0 || !v.counted) continue;
      process.stdout.write(`\nMissed ${v.kind}/${v.variant} (${out.length}):\n`);
      for (const s of out.slice(0, missed)) {
        process.stdout.write(`  session ${s.slice(0, 8)}:\n`);
        for (const l of (seen.get(s) ?? []).slice(0, 40)) process.stdout.write(`    ${l}\n`);
      }
    }
  }
}

main();
