// How the integration files divide into shards of about equal running time (test/support/
// shard-sequencer.ts applies it to vitest's `--shard i/n`). Each shard brings up a stack of its own
// (test/support/run-integration.ts), so the split only decides how long the slowest shard takes.
// vitest's own split hashes file names, which on this suite put three of the five slowest files into
// one shard.
/**
 * Seconds each file took in a full three-shard run on the 2-core machine (rounded; the relative sizes
 * are what matter). A file missing here counts as DEFAULT_SECONDS: add it when it turns out to be long.
 */
export const INTEGRATION_FILE_SECONDS: Readonly<Record<string, number>> = {
  'cli.test.ts': 263,
  'package-install.test.ts': 225,
  'worker-outage.test.ts': 213,
  'rotation-schedule.test.ts': 134,
  'worker-token-stream.test.ts': 128,
  'bench-quick.test.ts': 109,
  'issuer-lifecycle.test.ts': 104,
  'faults-recovery.test.ts': 99,
  'stateful-tree.test.ts': 98,
  'token-tree.test.ts': 54,
  'hostile-requests.test.ts': 42,
  'reference-app.test.ts': 41,
  'tree-cancel.test.ts': 32,
  'stateful-replay.test.ts': 31,
  'issuer-rotation.test.ts': 28,
  'stateful-upgrade.test.ts': 28,
  'issuer-parallel-keys.test.ts': 22,
  'stateful-kill.test.ts': 21,
  'client-certificates.test.ts': 19,
  'stateful-continue-as-new.test.ts': 14,
  'hostile-tls.test.ts': 13,
  'stateful-activity.test.ts': 12,
  'worker-certificates.test.ts': 6,
  'dev-stack-lifecycle.test.ts': 5,
  'authorization.test.ts': 4,
  'codec-server.test.ts': 4,
  'secured-stack.test.ts': 3,
  'client-auth.test.ts': 2,
  'hostile-tokens.test.ts': 2,
  'issuer-https.test.ts': 1,
};

export const DEFAULT_SECONDS = 30;

export interface WeightedFile {
  /** The file's path, relative or absolute; only its name is looked up. */
  path: string;
  seconds: number;
}

/** The file's expected seconds, by its name. */
export function expectedSeconds(path: string): number {
  const name = path.split(/[\\/]/).at(-1) ?? path;
  return INTEGRATION_FILE_SECONDS[name] ?? DEFAULT_SECONDS;
}

/**
 * Longest first, each file to the shard with the least time so far (ties: the lower shard). The same
 * files always give the same split, whichever order they were found in.
 */
export function splitByTime(files: readonly WeightedFile[], count: number): WeightedFile[][] {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`shard count must be a positive integer, got ${count}`);
  const shards: WeightedFile[][] = Array.from({ length: count }, () => []);
  const totals: number[] = new Array(count).fill(0);
  const ordered = [...files].sort((a, b) => b.seconds - a.seconds || (a.path < b.path ? -1 : 1));
  for (const file of ordered) {
    const lightest = totals.indexOf(Math.min(...totals));
    shards[lightest]!.push(file);
    totals[lightest]! += file.seconds;
  }
  return shards;
}
