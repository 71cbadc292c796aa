// Resident set size of another process, read from /proc (Linux): the figure `ps` and the OOM killer use.
import { readFile } from 'node:fs/promises';
import { BenchError } from './errors.js';

/** Current resident set size of `pid`, in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch((cause: unknown) => {
    throw new BenchError('bench.unexpected_response', `cannot read the memory of process ${pid}`, { cause });
  });
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new BenchError('bench.unexpected_response', `process ${pid} reports no VmRSS`);
  return Number(kb) * 1024;
}

/** Samples the RSS of `pid` every `intervalMs` until `stop()`, which returns the highest sample. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): Promise<number> } {
  let peak = 0;
  let sampling: Promise<void> = Promise.resolve();
  const take = () => {
    sampling = rssBytes(pid).then(
      (rss) => {
        peak = Math.max(peak, rss);
      },
      () => {},
    );
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      take();
      await sampling;
      return peak;
    },
  };
}

export function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
