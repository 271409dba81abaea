/**
 * What nginx accepts silently but the module's operator should know, found in the configuration
 * `nginx -T` prints (nginx-conf.ts reads it):
 * 1. a `map`, `geo`, `js_var` or `js_set` of a setting that api_sessions.conf declares, read
 *    before that include: nginx keeps the last declaration, so the include's empty one wins;
 * 2. the include outside the http block, or missing while the `api_sessions` format is logged;
 * 3. a literal value of a setting that the module's own parser (src/njs/config.ts, src/shared/params.ts) refuses;
 * 4. a server or location whose only access_log is the module's while an outer level has the
 *    operator's own: nginx writes only the innermost level's logs.
 */
import { buildConfig, RawConfig } from '../njs/config';
import { splitOutsideQuotes } from '../shared/params';
import { Directive, readDump } from './nginx-conf';

export interface Finding {
  file: string;
  line: number;
  severity: 'error' | 'warning';
  message: string;
}

/** `FILE:LINE: error|warning: message`, as compilers print it, so that editors jump there. */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.severity}: ${f.message}`;
}

/** The settings whose literal values the module's parser checks, by the RawConfig field it reads. */
const PARSED: Record<string, keyof RawConfig> = {
  $api_sessions_params: 'params',
  $api_sessions_extra_params: 'extraParams',
  $api_sessions_max_body: 'maxBody',
  $api_sessions_max_value: 'maxValue',
  $api_sessions_max_attack_body: 'maxAttackBody',
};

const FORMAT = 'api_sessions';

/** The variable a directive declares for the whole http block, or null. */
function declared(d: Directive): string | null {
  if (d.name === 'js_var' || d.name === 'js_set' || d.name === 'perl_set') return d.args[0] ?? null;
  if ((d.name === 'map' || d.name === 'split_clients') && d.block) return d.args[1] ?? null;
  if (d.name === 'geo' && d.block) return d.args[d.args.length - 1] ?? null;
  return null;
}

/** The module's own file: it bears the name api_sessions.conf, or defines the `api_sessions` log
 *  format (a copy under another name). `directives`: those written in that file. */
function isModuleFile(file: string, directives: Directive[]): boolean {
  return file === 'api_sessions.conf' || file.endsWith('/api_sessions.conf') ||
    directives.some((d) => d.name === 'log_format' && d.args[0] === FORMAT);
}

/** The module's files that an include brings in. */
function moduleFiles(include: Directive): string[] {
  return (include.files ?? []).filter((f) => isModuleFile(f, include.included!.filter((d) => d.file === f)));
}

/** A directive's literal values of settings: `set $v VALUE`, `js_var $v VALUE`, a map's or geo's values. */
function values(d: Directive): { variable: string; value: string; line: number }[] {
  if ((d.name === 'set' || d.name === 'js_var') && d.args.length === 2) return [{ variable: d.args[0], value: d.args[1], line: d.argLines[1] }];
  const variable = declared(d);
  if (!variable || !d.block || (d.name !== 'map' && d.name !== 'geo')) return [];
  const special = ['hostnames', 'volatile', 'include', 'ranges', 'delete', 'proxy', 'proxy_recursive'];
  return flat(d.block)
    .filter((e) => e.args.length === 1 && special.indexOf(e.name) < 0)
    .map((e) => ({ variable, value: e.args[0], line: e.argLines[0] }));
}

/** A block's directives with its includes' in their place (the includes themselves dropped). */
function flat(list: Directive[]): Directive[] {
  const out: Directive[] = [];
  for (const d of list) {
    if (d.included) out.push(...flat(d.included));
    else out.push(d);
  }
  return out;
}

/** The line of the entry an error of the module's parser names ("... entry N ..."), in a value
 *  that starts at `line` and may hold one entry a line. */
function entryLine(value: string, line: number, error: string): number {
  const n = /^\$\w+ entry (\d+) /.exec(error);
  if (!n) return line;
  let count = 0;
  let offset = 0;
  for (const entry of splitOutsideQuotes(value, ';')) {
    if (entry.trim() !== '' && ++count === Number(n[1])) {
      const start = offset + entry.length - entry.trimStart().length;
      return line + value.slice(0, start).split('\n').length - 1;
    }
    offset += entry.length + 1;
  }
  return line;
}

function formatOf(log: Directive): string | null {
  if (log.args[0] === 'off') return null;
  return log.args[1] && log.args[1].indexOf('=') < 0 ? log.args[1] : 'combined';
}

/** Every directive's place in the order nginx reads them, includes in their place. */
function readingOrder(top: Directive[]): Map<Directive, number> {
  const order = new Map<Directive, number>();
  const number = (list: Directive[]) => {
    for (const d of list) {
      order.set(d, order.size);
      number(d.included ?? d.block ?? []);
    }
  };
  number(top);
  return order;
}

/** The findings, in the order nginx reads the directives they are about. */
export function checkDirectives(top: Directive[]): Finding[] {
  const order = readingOrder(top);
  const findings: (Finding & { at: number })[] = [];
  const found = (d: Directive, severity: Finding['severity'], message: string, line = d.line) =>
    findings.push({ file: d.file, line, severity, message, at: order.get(d)! });
  /** Declarations of $api_sessions_* settings outside the module's file, not yet replaced. */
  const own = new Map<string, Directive[]>();
  let includes = 0;
  const moduleLogs: Directive[] = [];

  /** A block: its access_logs (its own and its includes') are one level of nginx's inheritance. */
  const block = (list: Directive[], context: string[], moduleInclude: Directive | null, outer: Directive[][]) => {
    const level = flat(list).filter((d) => d.name === 'access_log');
    if (context[0] === 'http' && context.length > 1 && level.length > 0 && level.every((l) => formatOf(l) === FORMAT)) lostLog(level[0], outer);
    walk(list, context, moduleInclude, outer.concat([level]));
  };

  /** `context`: the enclosing blocks' names; `levels`: the access_logs of each enclosing level. */
  const walk = (list: Directive[], context: string[], moduleInclude: Directive | null, levels: Directive[][]) => {
    const inHttp = context[0] === 'http';
    for (const d of list) {
      if (d.included) {
        const brings = moduleFiles(d).length > 0;
        if (brings) {
          includes++;
          if (context.join(' ') !== 'http') {
            found(d, 'error', `api_sessions.conf is included inside ${context[context.length - 1] ?? 'the main context'}: it belongs in the http block, once, before the servers that log with its format`);
          }
        }
        walk(d.included, context, brings ? d : moduleInclude, levels);
        continue;
      }
      const variable = inHttp ? declared(d) : null;
      if (variable !== null && variable.startsWith('$api_sessions_')) {
        if (moduleInclude !== null && moduleFiles(moduleInclude).indexOf(d.file) >= 0) {
          // The include's declaration: nginx keeps it, not the earlier ones.
          for (const earlier of own.get(variable) ?? []) {
            found(earlier, 'error', `${earlier.name} ${variable} is replaced by the include's declaration at ${d.file}:${d.line} (included at ${moduleInclude.file}:${moduleInclude.line}); move it after the include`);
          }
          own.delete(variable);
        } else {
          own.set(variable, (own.get(variable) ?? []).concat([d]));
        }
      }
      if (inHttp) {
        for (const v of values(d)) {
          const field = PARSED[v.variable];
          if (field === undefined || v.value === '' || /\$[\w{]/.test(v.value)) continue;
          for (const e of buildConfig({ [field]: v.value }).errors) found(d, 'error', e, entryLine(v.value, v.line, e));
        }
        if (d.name === 'access_log' && formatOf(d) === FORMAT) moduleLogs.push(d);
      }
      if (d.block) block(d.block, context.concat([d.name]), moduleInclude, levels);
    }
  };

  const lostLog = (log: Directive, outer: Directive[][]) => {
    for (let i = outer.length - 1; i >= 0; i--) {
      if (outer[i].length === 0) continue;
      const theirs = outer[i].find((l) => formatOf(l) !== null && formatOf(l) !== FORMAT);
      if (theirs) {
        found(log, 'warning', `the only access_log here is the api_sessions one, so the access_log at ${theirs.file}:${theirs.line} no longer applies here (nginx writes only the innermost level's logs): name it here too`);
      }
      return;
    }
  };

  block(top, [], null, []);
  if (includes === 0 && moduleLogs.length > 0) {
    found(moduleLogs[0], 'error', `the api_sessions log format is used but api_sessions.conf is not included: include it in the http block, before the servers that log with its format`);
  }
  return findings.sort((a, b) => a.at - b.at).map(({ at, ...f }) => f);
}

/** The findings of an `nginx -T` output, in the order nginx reads the configuration. */
export function checkDump(dump: string): Finding[] {
  return checkDirectives(readDump(dump));
}
