/** HTTP clients for tests: fetch-like requests over node:http (keep-alive or not) and raw bytes. */
import http from 'http';
import net from 'net';
import crypto from 'crypto';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  agent?: http.Agent;
  /** The client's own address (any of 127.0.0.0/8 on Linux): a client other than a proxy's. */
  localAddress?: string;
}

export function request(url: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method || 'GET',
        headers: opts.headers || {},
        agent: opts.agent || new http.Agent({ keepAlive: false }),
        localAddress: opts.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode || 0, headers: res.headers, body, text: body.toString() });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Sends raw bytes (for headers node:http refuses to send) and returns the raw reply. */
export function rawRequest(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.on('error', reject);
    sock.write(bytes);
  });
}

/** The session id as the README defines it, computed independently of the module's code. */
export function expectedSession(secret: string, app: string, value: string): string {
  return crypto.createHmac('sha256', secret).update('s\n' + app + '\n' + value).digest('hex').slice(0, 32);
}

export function expectedHash(secret: string, value: string): string {
  return crypto.createHmac('sha256', secret).update('v\n' + value).digest('hex').slice(0, 32);
}
