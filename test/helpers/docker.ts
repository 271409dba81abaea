/** Whether a Docker engine answers, for the Testcontainers tests: without one they skip. */
import { execFileSync } from 'child_process';
import { existsSync } from 'fs';

export function dockerEngine(): boolean {
  const host = process.env.DOCKER_HOST;
  if (!host && !existsSync('/var/run/docker.sock')) return false;
  try {
    // The CLI answers for the engine; without a CLI, a socket or DOCKER_HOST has to do.
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { stdio: 'ignore', timeout: 15000 });
    return true;
  } catch (e: any) {
    return e.code === 'ENOENT';
  }
}
