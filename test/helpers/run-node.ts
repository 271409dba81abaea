/** Runs an ES module snippet in a child node process from the checkout's root: build.mjs and
 *  build-console.mjs are ES modules, which ts-jest's CommonJS tests cannot import. */
import { execFileSync } from 'child_process';
import { resolve } from 'path';

export const ROOT = resolve(__dirname, '..', '..');

export function runNode(code: string): { ok: boolean; output: string } {
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output: out };
  } catch (e: any) {
    return { ok: false, output: String(e.stdout) + String(e.stderr) };
  }
}
