/**
 * The built-in grouping set: the session cookies and headers the module groups by when no
 * configured key is present (../njs/identify.ts), and that the console's what-if preview groups
 * by in the same order (src/console/recommend/whatif.ts).
 */

// The built-in set. Functions, not module constants: njs 0.7.9 runs a module's top-level code
// again for every request, so a constant array would be built for every request of every
// location; a function builds it only when the grouping chain reaches the built-in set.

/** Session cookies of common frameworks, in the order they are tried. */
export function builtinCookies(): string[] {
  return [
    'PHPSESSID', // PHP
    'JSESSIONID', // Java servlet containers
    'ASP.NET_SessionId', // ASP.NET
    'connect.sid', // Express (express-session)
    'laravel_session', // Laravel
    'ci_session', // CodeIgniter
    '_session_id', // Ruby on Rails (older default)
    'sessionid', // Django
    'session', // Flask and others
    'SESSION', // Spring Session
    'sid', // generic
  ];
}

/** Request headers that carry a session or credentials, in the order they are tried. */
export function builtinRequestHeaders(): string[] {
  return ['authorization', 'x-session-id', 'session-id', 'mcp-session-id', 'x-auth-token', 'x-access-token', 'x-api-key'];
}

/** Response headers by which a server hands out a session (MCP's initialize, token logins). */
export function builtinResponseHeaders(): string[] {
  return ['mcp-session-id', 'x-session-id', 'session-id', 'x-auth-token', 'x-access-token'];
}
