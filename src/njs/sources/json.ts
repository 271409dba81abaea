/** JSON bodies and claims: parse once, then walk a selector's path through own properties. */
import { PathStep } from '../../shared/selector';
import { isNjsEngine } from '../engine';

/** The njs engine refuses JSON nested 32 deep or more ("Nested too deep"); QuickJS and Node
 *  parse far deeper (and QuickJS in nginx runs out of stack at a few thousand). Refusing the same
 *  depth everywhere keeps a record the same on every engine. */
export const JSON_DEPTH_LIMIT = 32;

/** JSON.parse with the same outcome on every engine: the value, or an Error whose message is
 *  "not valid JSON" or "not valid JSON (nested too deep)" (never the engine's words: some quote
 *  the text, which may hold exactly what must not reach a record). */
export function parseJson(text: string): unknown {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const deep = (e as Error).name === 'RangeError' || String((e as Error).message).indexOf('too deep') >= 0;
    throw new Error(deep ? 'not valid JSON (nested too deep)' : 'not valid JSON');
  }
  if (!isNjsEngine() && nestedTooDeep(text, JSON_DEPTH_LIMIT)) throw new Error('not valid JSON (nested too deep)');
  return v;
}

/** Whether valid JSON `text` nests `max` or more containers deep. Native string work only (a
 *  character loop would cost far more): fewer than `max` openers cannot nest that deep; else the
 *  strings are dropped, the brackets kept, and the innermost pairs removed level by level. */
export function nestedTooDeep(text: string, max: number): boolean {
  if (text.length < 2 * max) return false;
  let n = 0;
  let at = -1;
  while (n < max && (at = text.indexOf('{', at + 1)) >= 0) n++;
  at = -1;
  while (n < max && (at = text.indexOf('[', at + 1)) >= 0) n++;
  if (n < max) return false;
  let s = text.replace(/"[^"\\]*(?:\\.[^"\\]*)*"/g, '').replace(/[^[\]{}]/g, '');
  for (let i = 0; i < max - 1 && s.length > 0; i++) s = s.replace(/\[\]|\{\}/g, '');
  return s.length > 0;
}

/** Walks `steps` from `root`; undefined when any step is missing or of the wrong kind. */
export function walk(root: unknown, steps: PathStep[]): unknown {
  let v: unknown = root;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (v === null || typeof v !== 'object') return undefined;
    if (typeof step === 'number') {
      if (!Array.isArray(v) || step >= v.length) return undefined;
      v = v[step];
    } else {
      if (Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, step)) return undefined;
      v = (v as { [k: string]: unknown })[step];
    }
  }
  return v;
}

/** Whether a Content-Type names JSON: application/json or any +json type. */
export function isJsonType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const t = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return t === 'application/json' || t.slice(-5) === '+json';
}
