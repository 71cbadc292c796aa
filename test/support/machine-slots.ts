// Machine-wide slots for integration shards: a shard runs only while it holds one, and the whole
// machine has as many slots as one suite has shards by default (cores + 1), so two checkouts' suites
// started side by side share the cores instead of running twice the shards (without slots, four shards
// on two cores ran at load 20-50 and both suites failed their timing-bound tests).
// A slot is a directory (mkdir is atomic) holding the owner's pid; a slot whose owner died is taken
// over. Two processes reclaiming the same dead slot at the same instant can both win; that costs load
// for one run, never correctness, since each shard still has a stack of its own.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './wait.js';

export const DEFAULT_SLOTS_DIR = join(tmpdir(), 'tokenrelay-test-slots');

export interface SlotOptions {
  dir?: string;
  /** How many slots the machine has. */
  count: number;
  pollMs?: number;
  /** Called once if no slot is free at first. */
  onWait?: () => void;
  /** Gives up waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Takes a free slot, waiting as long as it takes; resolves to the function that gives it back. */
export async function acquireSlot(options: SlotOptions): Promise<() => Promise<void>> {
  const dir = options.dir ?? DEFAULT_SLOTS_DIR;
  await mkdir(dir, { recursive: true });
  let waiting = false;
  for (;;) {
    options.signal?.throwIfAborted();
    for (let i = 1; i <= options.count; i++) {
      const slot = join(dir, `slot-${i}`);
      if (await tryTake(slot)) return () => rm(slot, { recursive: true, force: true });
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    await sleep(options.pollMs ?? 2_000, options.signal);
  }
}

async function tryTake(slot: string): Promise<boolean> {
  try {
    await mkdir(slot);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (!(await ownerGone(slot))) return false;
    await rm(slot, { recursive: true, force: true });
    try {
      await mkdir(slot);
    } catch {
      return false; // someone else took it over first
    }
  }
  await writeFile(join(slot, 'pid'), String(process.pid));
  return true;
}

/** The slot's owner has exited (or never wrote its pid and the slot is older than a minute). */
async function ownerGone(slot: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(await readFile(join(slot, 'pid'), 'utf8'));
  } catch {
    const made = await stat(slot).catch(() => undefined);
    return made !== undefined && Date.now() - made.mtimeMs > 60_000;
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
