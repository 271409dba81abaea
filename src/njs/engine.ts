/**
 * The JavaScript engine running the module, told once per module instance. The njs engine gives
 * every request a fresh copy of the module, so a memo there is work thrown away at the request's
 * end (counted: a session-id memo cost njs 0.7.9 16,000 instructions per request and saved
 * nothing); QuickJS reuses its contexts, and Node (the unit tests) keeps modules, so memos pay.
 */
let engine: string | null = null;

function engineName(): string {
  if (engine === null) {
    const g = globalThis as unknown as { njs?: { engine?: string } };
    // `njs.engine` is "njs" or "QuickJS" from njs 0.8.6; before, only the njs engine existed.
    engine = g.njs === undefined ? 'node' : g.njs.engine === 'QuickJS' ? 'QuickJS' : 'njs';
  }
  return engine;
}

/** The njs engine (any version): a module instance lives one request. */
export function isNjsEngine(): boolean {
  return engineName() === 'njs';
}

/** Whether module state outlives the request (QuickJS, Node): where bounded memos pay. */
export function keepsModuleState(): boolean {
  return engineName() !== 'njs';
}
