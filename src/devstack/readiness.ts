import { readFile } from 'node:fs/promises';
import { fetch as undiciFetch } from 'undici';
import { pollUntil } from '../util/poll.js';
import { runningPid } from './daemon.js';
import { devIssuerDispatcher } from './dev-ca-dispatcher.js';
import { DevStackError } from './errors.js';

/** A daemon being waited for: what to call it in errors, its pid file and its log. */
export interface StartingDaemon {
  name: string;
  pidPath: string;
  logPath: string;
}

/**
 * Polls `check` every 500 ms until it holds. Fails at once when the daemon exits (with the tail of
 * its log, where the reason is), or after `timeoutMs`.
 */
export async function waitUntilReady(
  daemon: StartingDaemon,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  await pollUntil(
    async () => {
      if ((await runningPid(daemon.pidPath)) === undefined) {
        throw new DevStackError(
          'devstack.start_failed',
          `${daemon.name} exited during start-up. ${await logTail(daemon.logPath)}`,
        );
      }
      return check();
    },
    {
      what: `${daemon.name} to become ready`,
      timeoutMs,
      intervalMs: 500,
      onTimeout: async () =>
        new DevStackError(
          'devstack.start_failed',
          `${daemon.name} did not become ready within ${timeoutMs / 1000}s. ${await logTail(daemon.logPath)}`,
        ),
    },
  );
}

/** Whether the service at `url` (issuer or demo API) answers its `/health`; https with the dev CA. */
export async function healthy(url: string, caCertPath?: string): Promise<boolean> {
  try {
    const res = await undiciFetch(`${url}/health`, {
      signal: AbortSignal.timeout(2_000),
      ...(url.startsWith('https:') && caCertPath ? { dispatcher: devIssuerDispatcher(caCertPath) } : {}),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function logTail(path: string, lines = 20): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail ? `Last lines of ${path}:\n${tail}` : `See ${path}.`;
}
