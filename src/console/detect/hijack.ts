/**
 * Session hijack: one session (one token, one cookie) used by clients that do not belong
 * together. A client is a network (an address's first bits: a provider's block, so that a
 * carrier's changing addresses stay one network) and a User-Agent family (a browser and its
 * system, or another program's name; versions left out). A person's session has one client, or
 * moves once: a phone from Wi-Fi to its mobile network keeps its User-Agent. Three rules:
 *
 * - new_device: a client whose network AND family the session never used, while an earlier
 *   client was active within the window (a stolen token replayed from the attacker's machine);
 *   not when one of the two is an app and the other an in-app browser of its system (a web
 *   view, which may come up first on a new network);
 * - agent_change: a browser of another kind or system on the same network (a session cookie
 *   taken on a shared network); programs that share a token with a web view (an app and its
 *   in-app browser) are not judged by this one, as one side is not a browser;
 * - two_networks: going back and forth between networks, each return to a network used
 *   moments before (two devices using one token at once, even with a copied User-Agent).
 *
 * Sessions grouped by IP + User-Agent are never judged (their key is the client itself), nor
 * those of keys listed in hijack.ignore_keys (a service account's key shared by machines).
 */
import { SessionRecord } from '../../shared/record';
import { DetectionConfig } from './config';
import { AgentFamilies, networkOf } from './signals';
import { Client, Findings, SessionState, ref } from './state';

/** Clients remembered per session: the newest ones. */
const MAX_CLIENTS = 8;

export class HijackRules {
  private readonly windowMs: number;
  private readonly concurrentMs: number;

  constructor(
    private readonly cfg: DetectionConfig['hijack'],
    private readonly families: AgentFamilies,
    private readonly findings: Findings,
  ) {
    this.windowMs = cfg.window_minutes * 60000;
    this.concurrentMs = cfg.concurrent_seconds * 1000;
  }

  observe(s: SessionState, r: SessionRecord, ts: number): void {
    if (s.hijackOff) return;
    let c = s.cur;
    if (c === null || r.ip !== s.seenIp || r.ua !== s.seenUa) {
      let net: string | null = c !== null && r.ip === s.seenIp ? c.net : null;
      // An address the session used before: its client knows its network.
      for (let i = 0; net === null && i < s.clients.length; i++) if (s.clients[i].lastIp === r.ip) net = s.clients[i].net;
      if (net === null) net = networkOf(r.ip, this.cfg.ipv4_prefix, this.cfg.ipv6_prefix);
      const fam = c !== null && r.ua === s.seenUa ? { name: c.family, browser: c.browser, os: c.os, webview: c.webview } : this.families.of(r.ua);
      s.seenIp = r.ip;
      s.seenUa = r.ua;
      let next: Client | null = null;
      for (const x of s.clients) if (x.net === net && x.family === fam.name) next = x;
      if (next === null) {
        next = new Client(net, fam.name, fam.browser, fam.os, fam.webview);
        this.judgeNew(s, next, r, ts);
        if (s.clients.length >= MAX_CLIENTS) {
          let oldest = 0;
          for (let i = 1; i < s.clients.length; i++) if (s.clients[i].last < s.clients[oldest].last) oldest = i;
          s.clients.splice(oldest, 1);
        }
        s.clients.push(next);
      } else if (c !== null && next !== c && next.net !== c.net) this.judgeReturn(s, c, next, r, ts);
      s.cur = next;
      c = next;
    }
    c.touch(r, ts);
    // Later requests of a client a rule named add to its finding, while it is open.
    if (c.finding !== null && c.requests > 1 && !this.findings.touch(c.finding, r, ts)) c.finding = null;
  }

  /** A client the session has not used before. */
  private judgeNew(s: SessionState, c: Client, r: SessionRecord, ts: number): void {
    let active: Client | null = null;
    let sameNet = false;
    let sameFamily = false;
    let browserOnNet: Client | null = null;
    let companion = false;
    for (const x of s.clients) {
      if (x.net === c.net) sameNet = true;
      if (x.family === c.family) sameFamily = true;
      if (ts - x.last > this.windowMs) continue;
      if (active === null || x.last > active.last) active = x;
      if (x.net === c.net && x.browser && (browserOnNet === null || x.last > browserOnNet.last)) browserOnNet = x;
      // An app and its in-app browser: a program and a web view, on one system.
      const view = x.webview ? x : c.webview ? c : null;
      const app = view === x ? c : x;
      if (view !== null && !app.browser && (app.os === null || app.os === view.os)) companion = true;
    }
    if (active === null || sameFamily) return;
    if (!sameNet && !companion) this.fire(s, 'new_device', active, c, r, ts, { gap_ms: Math.max(0, ts - active.last) });
    else if (c.browser && browserOnNet !== null) this.fire(s, 'agent_change', browserOnNet, c, r, ts, { gap_ms: Math.max(0, ts - browserOnNet.last) });
  }

  /** A move from client `from` to `to` on another network: a return when `to` was used moments ago. */
  private judgeReturn(s: SessionState, from: Client, to: Client, r: SessionRecord, ts: number): void {
    if (to.requests === 0 || ts - to.last > this.concurrentMs) return;
    const returns = s.returns ?? (s.returns = []);
    returns.push(ts);
    while (returns.length > 0 && ts - returns[0] > this.windowMs) returns.shift();
    if (returns.length > 64) returns.splice(0, returns.length - 64);
    if (returns.length >= this.cfg.switches) {
      if (to.finding !== null && this.findings.touch(to.finding, r, ts)) return;
      this.fire(s, 'two_networks', from, to, r, ts, { switches: returns.length, span_ms: ts - returns[0] });
    }
  }

  private fire(s: SessionState, rule: string, earlier: Client, c: Client, r: SessionRecord, ts: number, extra: Record<string, number>): void {
    const measured = { family: c.family, network: c.net, earlier_family: earlier.family, earlier_network: earlier.net, ...extra };
    const evidence = [earlier.lastRef(s.session), ref(r)];
    c.finding = this.findings.report({
      kind: 'hijack',
      rule,
      app: s.app,
      subject_type: 'session',
      subject: s.session,
      ts,
      sessions: s.named(),
      users: s.users(),
      evidence: () => evidence,
      measured: () => measured,
      reopenMs: this.windowMs,
    });
  }
}
