/**
 * The measured nginx's http block (bench/nginx.conf) for run.ts and instructions.ts, with the
 * engine options both take:
 *   --config-cache       include nginx/api_sessions_config_cache.conf (njs >= 0.8: the parsed
 *                        configuration kept in a shared dictionary for the njs engine)
 *   --context-reuse N    QuickJS's js_context_reuse (0: a new context per request, to price one)
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { Engine } from '../test/helpers/engines';

export function measuredConf(root: string, engine: Engine, args: string[], ports: { upstream: number; stream: number }): string {
  let prefix = '';
  if (args.includes('--config-cache')) {
    if (engine.name === 'debian12') throw new Error('--config-cache: njs 0.7.9 has no js_shared_dict_zone (use trixie, sid or sid-qjs)');
    prefix += 'include {{ROOT}}/nginx/api_sessions_config_cache.conf;\n';
  }
  const i = args.indexOf('--context-reuse');
  if (i >= 0) {
    const n = args[i + 1];
    if (!/^\d+$/.test(n || '')) throw new Error('--context-reuse: a number of contexts');
    if (!engine.qjs) throw new Error('--context-reuse: QuickJS only (--engine sid-qjs)');
    prefix += `js_context_reuse ${n};\n`;
  }
  return prefix + readFileSync(join(root, 'bench', 'nginx.conf'), 'utf8')
    .replace(/\{\{UPSTREAM_PORT\}\}/g, String(ports.upstream))
    .replace(/\{\{STREAM_PORT\}\}/g, String(ports.stream));
}
