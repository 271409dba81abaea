/**
 * The variables nginx/api_sessions.conf composes for the module ($api_sessions_app_value,
 * $api_sessions_facts), made from plain values: for the handlers run outside nginx (the njs CLI
 * in test/njs and bench/njs-harness.ts). Written in the njs subset: the harness bundles it.
 * test/integration checks the include's own maps against real nginx.
 */
const BUILTIN_HEADERS = ['authorization', 'x-session-id', 'session-id', 'mcp-session-id', 'x-auth-token', 'x-access-token', 'x-api-key'];
const BUILTIN_RESPONSE = ['set-cookie', 'mcp-session-id', 'x-session-id', 'session-id', 'x-auth-token', 'x-access-token'];
const OTHER_SETTINGS = ['api_sessions_params', 'api_sessions_extra_params', 'api_sessions_attack', 'api_sessions_fingerprint',
  'api_sessions_discovery', 'api_sessions_now', 'api_sessions_response_body'];

function has(headers: { [name: string]: unknown }, names: string[]): boolean {
  const keys = Object.keys(headers);
  for (let i = 0; i < keys.length; i++) {
    const v = headers[keys[i]];
    if (names.indexOf(keys[i].toLowerCase()) >= 0 && v !== undefined && v !== '') return true;
  }
  return false;
}

/** `variables` with $api_sessions_app_value and $api_sessions_facts added, as nginx would. */
export function withNginxFacts(
  variables: { [name: string]: string },
  headersIn: { [name: string]: unknown },
  headersOut: { [name: string]: unknown },
): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  const names = Object.keys(variables);
  for (let i = 0; i < names.length; i++) out[names[i]] = variables[names[i]];
  const app = variables.api_sessions_app || variables.server_name || variables.host || '';
  let flags = '';
  for (let i = 0; i < OTHER_SETTINGS.length; i++) if (variables[OTHER_SETTINGS[i]]) flags = '+';
  if (has(headersIn, BUILTIN_HEADERS)) flags += 'h';
  if (has(headersOut, BUILTIN_RESPONSE)) flags += 'r';
  out.api_sessions_app_value = app;
  out.api_sessions_facts = flags + (variables.msec || '') + ' ' + (variables.request_time || '') + ' ' + app;
  return out;
}
