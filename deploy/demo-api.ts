/**
 * The demo upstream for docker-compose: the integration tests' Express app (real sessions, real
 * JWTs, streams; test/helpers/upstream.ts) reachable from the other containers on $PORT (3000).
 * Run with tsx: `npx tsx deploy/demo-api.ts`.
 */
import net from 'net';
import { startUpstream } from '../test/helpers/upstream';

async function main(): Promise<void> {
  const up = await startUpstream();
  const port = Number(process.env.PORT || 3000);
  // The app listens on loopback; this forwards the container's port to it, byte for byte.
  const server = net.createServer((client) => {
    const app = net.connect(up.port, '127.0.0.1');
    client.pipe(app).pipe(client);
    client.on('error', () => app.destroy());
    app.on('error', () => client.destroy());
  });
  server.listen(port, process.env.HOST || '0.0.0.0', () => console.log(`demo API on :${port}`));
  const stop = () => server.close(() => void up.close().then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
