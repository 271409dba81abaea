/** JSON bodies and claims: parse once, then walk a selector's path through own properties. */
import { PathStep } from '../selector';

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
