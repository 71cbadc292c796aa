import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { sleep } from '../util/poll.js';

/** What a pid file records: the pid, and a marker to tell our process from a recycled pid. */
interface PidRecord {
  pid: number;
  marker: string;
}

/**
 * Starts `command` in its own process group, detached from this one, with stdout and stderr appended
 * to `logPath`, and records it in `pidPath`. The caller may exit; the daemon keeps running.
 */
export async function spawnDaemon(options: {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logPath: string;
  pidPath: string;
  /** A string that appears in the process command line, checked before signalling it later. */
  marker: string;
}): Promise<number> {
  const log = openSync(options.logPath, 'a', 0o600);
  try {
    const child = spawn(options.command, options.args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', log, log],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    await writeFile(options.pidPath, JSON.stringify({ pid, marker: options.marker } satisfies PidRecord), {
      mode: 0o600,
    });
    return pid;
  } finally {
    closeSync(log);
  }
}

/** The pid recorded in `pidPath` if that process is still alive and still ours. */
export async function runningPid(pidPath: string): Promise<number | undefined> {
  let record: PidRecord;
  try {
    record = JSON.parse(await readFile(pidPath, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
  return isOurs(record) ? record.pid : undefined;
}

/** SIGTERM to the daemon's process group, SIGKILL after `timeoutMs`; removes the pid file. */
export async function stopDaemon(pidPath: string, timeoutMs = 10_000): Promise<boolean> {
  const pid = await runningPid(pidPath);
  if (pid === undefined) {
    await rm(pidPath, { force: true });
    return false;
  }
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  if (isAlive(pid)) {
    signalGroup(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  await rm(pidPath, { force: true });
  return true;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) still answers signal 0.
  return readStat(pid)?.state !== 'Z';
}

function isOurs(record: PidRecord): boolean {
  if (!Number.isInteger(record?.pid) || !isAlive(record.pid)) return false;
  const cmdline = readCmdline(record.pid);
  return cmdline === undefined || cmdline.includes(record.marker);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

// /proc is Linux-only; elsewhere the marker check is skipped and the pid alone is trusted.
function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

function readStat(pid: number): { state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { state: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '' };
  } catch {
    return undefined;
  }
}
