import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { sleep } from '../util/poll.js';
import { IssuerStateError } from './errors.js';

export interface FileLockOptions {
  /** Give up after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** A lock file older than this whose owner cannot be shown alive is taken over. Default 30 000 ms. */
  staleMs?: number;
}

/**
 * Runs `fn` while holding `<path>.lock`, a lock shared by every process on this machine: created with
 * O_EXCL (atomic on local file systems), holding the owner's pid so a crashed owner's lock is detected
 * and taken over instead of blocking every later edit. Read-modify-write sequences on the issuer's
 * state files run under it so that concurrent CLI processes lose no update.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  const lockPath = `${path}.lock`;
  const owner = `${hostname()} ${process.pid} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    if (await tryCreate(lockPath, owner)) break;
    await removeIfStale(lockPath, staleMs);
    if (Date.now() > deadline) {
      throw new IssuerStateError(
        'issuer.lock_timeout',
        `could not lock ${path} within ${timeoutMs} ms (held by another process; remove ${lockPath} if none is running)`,
      );
    }
    // Jitter keeps many waiting processes from retrying in lock step.
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    // Only remove the lock if it is still ours: a stale takeover may have replaced it.
    const current = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (current === owner) await rm(lockPath, { force: true });
  }
}

async function tryCreate(lockPath: string, owner: string): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx', 0o600);
    try {
      await handle.writeFile(owner);
    } finally {
      await handle.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new IssuerStateError('issuer.lock_failed', `cannot create lock file ${lockPath}`, { cause: err });
  }
}

async function removeIfStale(lockPath: string, staleMs: number): Promise<void> {
  const [text, info] = await Promise.all([
    readFile(lockPath, 'utf8').catch(() => undefined),
    stat(lockPath).catch(() => undefined),
  ]);
  if (text === undefined || info === undefined) return;
  const [host, pidText] = text.split(' ');
  const pid = Number(pidText);
  const ownerDead = host === hostname() && Number.isInteger(pid) && pid > 0 && !processAlive(pid);
  // An empty or foreign-host lock cannot be checked by pid (its owner may be between create and
  // write, or on another machine sharing the folder); only age decides for it.
  const tooOld = Date.now() - info.mtimeMs > staleMs;
  if (!ownerDead && !tooOld) return;
  // Rename first so that two processes detecting the same stale lock cannot both delete a fresh one:
  // only one rename of this exact file succeeds.
  const grave = `${lockPath}.${randomBytes(6).toString('hex')}.stale`;
  try {
    const again = await readFile(lockPath, 'utf8');
    if (again !== text) return;
    await rename(lockPath, grave);
    await rm(grave, { force: true });
  } catch {
    // Someone else removed or replaced it; the next attempt sees the new state.
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
