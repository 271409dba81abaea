/**
 * A real upstream for integration tests and the demo: an Express app with express-session's
 * real session cookie (connect.sid) and real JWTs from jsonwebtoken, plus endpoints that
 * stream, gzip, split bodies into chunks and answer with any status.
 */
import express from 'express';
import session from 'express-session';
import jwt from 'jsonwebtoken';
import zlib from 'zlib';
import crypto from 'crypto';
import http from 'http';
import net from 'net';

export const JWT_KEY = 'upstream-signing-key';

export interface Upstream {
  port: number;
  /** What the upstream received, per request, for "served exactly as without the module". */
  received: Array<{ method: string; url: string; bodySha: string; bodyLength: number; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export function tokenFor(user: string, role = 'customer', extra: object = {}): string {
  // jti: two logins within one second still get two different tokens
  return jwt.sign({ sub: user, role, details: { username: user + '@example.com' }, ...extra }, JWT_KEY, {
    expiresIn: 3600,
    jwtid: crypto.randomBytes(8).toString('hex'),
  });
}

/** The verified claims of `Authorization: Bearer <JWT>`, or null. */
function bearerClaims(authorization: string | undefined): any {
  const m = /^Bearer (.+)$/.exec(String(authorization || ''));
  try {
    return m ? jwt.verify(m[1], JWT_KEY) : null;
  } catch (e) {
    return null;
  }
}

export async function startUpstream(): Promise<Upstream> {
  const app = express();
  const received: Upstream['received'] = [];
  app.disable('x-powered-by');
  app.use(express.raw({ type: () => true, limit: '10mb' }));
  app.use((req, _res, next) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    received.push({
      method: req.method,
      url: req.originalUrl,
      bodySha: crypto.createHash('sha256').update(body).digest('hex'),
      bodyLength: body.length,
      headers: req.headers,
    });
    next();
  });
  app.use(
    session({
      secret: 'upstream-session-secret',
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true },
    }),
  );

  const jsonBody = (req: express.Request): any => {
    try {
      return JSON.parse((req.body as Buffer).toString());
    } catch (e) {
      return {};
    }
  };

  // The seeds' login: the token comes back in the JSON body.
  app.post('/login', (req, res) => {
    const user = String(jsonBody(req).user || 'anonymous');
    res.json({ token: tokenFor(user, user === 'admin' ? 'admin' : 'customer'), user });
  });
  // A JWT login as json-server-auth answers it (`accessToken`, the user's email in the claims,
  // plus the time of the login), and a refresh that trades a valid token for a new one.
  app.post('/auth/login', (req, res) => {
    const b = jsonBody(req);
    const email = String(b.email || '');
    if (!email || !b.password) return res.status(400).json({ error: 'email and password' });
    const user = email.split('@')[0];
    res.json({ accessToken: tokenFor(user, user === 'admin' ? 'admin' : 'customer', { email, login_at: Math.floor(Date.now() / 1000) }), user: { email } });
  });
  app.post('/auth/refresh', (req, res) => {
    const claims = bearerClaims(req.headers.authorization);
    if (!claims) return res.status(401).json({ error: 'a valid token' });
    res.json({ accessToken: tokenFor(claims.sub, claims.role, { email: claims.email, login_at: claims.login_at }) });
  });
  // The seeds' refresh: a valid token in Authorization, a new one in the JSON body.
  app.post('/refresh', (req, res) => {
    const claims = bearerClaims(req.headers.authorization);
    if (!claims) return res.status(401).json({ error: 'a valid token' });
    res.json({ token: tokenFor(claims.sub, claims.role), user: claims.sub });
  });
  // The same token in a response header, and in a Set-Cookie.
  app.post('/login-header', (req, res) => {
    res.set('X-Auth-Token', tokenFor(String(jsonBody(req).user || 'anonymous'))).json({ ok: true });
  });
  app.post('/login-cookie', (req, res) => {
    res.cookie('auth', tokenFor(String(jsonBody(req).user || 'anonymous')), { httpOnly: true }).json({ ok: true });
  });
  // A framework session: express-session sets connect.sid on the first response.
  app.get('/cart', (req, res) => {
    const s = req.session as any;
    s.views = (s.views || 0) + 1;
    res.json({ views: s.views });
  });
  // Echo of what was received: request line, body digest.
  app.all('/echo*', (req, res) => {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    res.json({
      method: req.method,
      url: req.originalUrl,
      bodyLength: body.length,
      bodySha: crypto.createHash('sha256').update(body).digest('hex'),
    });
  });
  // MCP's streamable HTTP: the initialize response hands out Mcp-Session-Id.
  app.post('/mcp', (req, res) => {
    const body = jsonBody(req);
    if (body.method === 'initialize') res.set('Mcp-Session-Id', 'mcp-' + crypto.randomBytes(8).toString('hex'));
    res.json({ jsonrpc: '2.0', id: body.id ?? null, result: {} });
  });
  app.get('/status/:code', (req, res) => {
    const code = Number(req.params.code);
    if (!(code >= 200 && code <= 599)) return res.status(400).json({ error: 'bad status' });
    if (code === 304 || code === 204) res.status(code).end();
    else res.status(code).json({ status: code });
  });
  // A JSON body written in many small chunks; `token` may straddle two of them.
  app.get('/chunks', (req, res) => {
    const n = Number(req.query.pad || 2000);
    const body = JSON.stringify({ pad: 'x'.repeat(n), token: String(req.query.token || 'tok'), tail: 'y'.repeat(n) });
    const size = Number(req.query.size || 7);
    res.setHeader('Content-Type', 'application/json');
    let i = 0;
    const step = () => {
      if (i >= body.length) return res.end();
      res.write(body.slice(i, i + size));
      i += size;
      setImmediate(step);
    };
    step();
  });
  app.get('/gzip', (req, res) => {
    const body = zlib.gzipSync(JSON.stringify({ token: String(req.query.token || 'gz') }));
    res.set({ 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).send(body);
  });
  app.get('/notjson', (_req, res) => {
    res.set('Content-Type', 'application/json').send('<html>not json</html>');
  });
  // A stream: each event is flushed at once, with a pause between them.
  app.get('/stream', (req, res) => {
    const events = Number(req.query.events || 3);
    const gap = Number(req.query.gap || 300);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    let i = 0;
    const send = () => {
      res.write(`data: {"n":${i},"t":${Date.now()}}\n\n`);
      if (++i >= events) return res.end();
      setTimeout(send, gap);
    };
    send();
  });
  app.get('/binary', (_req, res) => {
    const bytes = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) bytes[i] = i;
    res.set('Content-Type', 'application/octet-stream').send(bytes);
  });
  // The demo's accounts (scripts/demo.ts): a sign-in that checks the password, and invoices that
  // belong to one account each (another account's is 403, an unknown id 404): what its
  // credential-stuffing and enumeration runs go against.
  const ACCOUNTS: Record<string, string> = { 'alice@example.com': 'correct horse battery staple', 'mallory@example.com': 'mallory-2026' };
  app.post('/signin', (req, res) => {
    const b = jsonBody(req);
    const email = String(b.email || '');
    if (!Object.prototype.hasOwnProperty.call(ACCOUNTS, email) || ACCOUNTS[email] !== b.password) return res.status(401).json({ error: 'wrong email or password' });
    const user = email.split('@')[0];
    res.json({ token: tokenFor(user), user });
  });
  app.get('/invoices/:id', (req, res) => {
    const claims = bearerClaims(req.headers.authorization);
    if (!claims) return res.status(401).json({ error: 'a valid token' });
    const id = Number(req.params.id);
    if (!(Number.isInteger(id) && id >= 1000 && id < 1100)) return res.status(404).json({ error: 'no such invoice' });
    const owner = id < 1010 ? 'alice' : id < 1015 ? 'mallory' : 'someone-else';
    if (owner !== claims.sub) return res.status(403).json({ error: 'not your invoice' });
    res.json({ id, owner, total: 42.5 });
  });
  app.all('*', (req, res) => {
    res.json({ ok: true, path: req.path });
  });

  const server = http.createServer(app);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
