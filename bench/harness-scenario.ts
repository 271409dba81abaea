/** A request for bench/njs-harness.ts (shared with bench/instructions.ts, which has Node's types). */
export interface HarnessScenario {
  method: string;
  uri: string;
  params: string;
  headers: { [name: string]: string };
  requestText?: string;
  /** The response body, given to the body filter in two chunks; absent: no body filter. */
  responseBody?: string;
  /** Keep the same params text on every request (what QuickJS's memo sees); otherwise it alternates
   *  so that every request parses it, as each request does on the njs engine in nginx. */
  sameText: boolean;
  /** Only build the request objects: the harness's own cost, subtracted by the caller. */
  baseline: boolean;
}
