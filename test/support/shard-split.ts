// How the integration files divide into shards of about equal running time (test/support/
// shard-sequencer.ts applies it to vitest's `--shard i/n`). Each shard brings up a stack of its own
// (test/support/run-integration.ts), so the split only decides how long the slowest shard takes.
// vitest's own split hashes file names, which on this suite put three of the five slowest files into
// one shard.
/**
 * Seconds each file took in a full two-shard run on the 2-core machine (rounded; the relative sizes are
 * what matter). A file missing here counts as DEFAULT_SECONDS: add it when it turns out to be long.
 */
export const INTEGRATION_FILE_SECONDS: Readonly<Record<string, number>> = {
  'worker-outage.test.ts': 210,
  'package-install.test.ts': 209,
  'cli.test.ts': 198,
  'worker-token-stream.test.ts': 126,
  'issuer-lifecycle.test.ts': 120,
  'rotation-schedule.test.ts': 116,
  'stateful-tree.test.ts': 96,
  'bench-quick.test.ts': 66,
  'faults-recovery.test.ts': 63,
  'hostile-requests.test.ts': 39,
  'issuer-parallel-keys.test.ts': 36,
  'token-tree.test.ts': 35,
  'stateful-kill.test.ts': 28,
  'issuer-rotation.test.ts': 27,
  'stateful-replay.test.ts': 25,
  'reference-app.test.ts': 23,
  'tree-cancel.test.ts': 21,
  'stateful-upgrade.test.ts': 20,
  'client-certificates.test.ts': 20,
  'authorization.test.ts': 18,
  'hostile-tls.test.ts': 12,
  'stateful-continue-as-new.test.ts': 9,
  'stateful-activity.test.ts': 8,
  'secured-stack.test.ts': 8,
  'codec-server.test.ts': 6,
  'worker-certificates.test.ts': 5,
  'dev-stack-lifecycle.test.ts': 4,
  'hostile-tokens.test.ts': 1,
  'client-auth.test.ts': 1,
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
