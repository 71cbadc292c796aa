// How the integration files divide into shards of about equal running time (test/support/
// shard-sequencer.ts applies it to vitest's `--shard i/n`). Each shard brings up a stack of its own
// (test/support/run-integration.ts), so the split only decides how long the slowest shard takes.
// vitest's own split hashes file names, which on this suite put three of the five slowest files into
// one shard.
/**
 * Seconds each file took in a full three-shard run on the 2-core machine (2026-11-30, with the CLI
 * compiled once per run; rounded: the relative sizes are what matter). A file missing here counts as
 * DEFAULT_SECONDS: add it when it turns out to be long.
 */
export const INTEGRATION_FILE_SECONDS: Readonly<Record<string, number>> = {
  'package-install.test.ts': 249,
  'cli.test.ts': 226,
  'worker-outage.test.ts': 186,
  'rotation-schedule.test.ts': 131,
  'worker-token-stream.test.ts': 123,
  'bench-quick.test.ts': 93,
  'faults-recovery.test.ts': 81,
  'stateful-tree.test.ts': 78,
  'token-tree.test.ts': 56,
  'issuer-lifecycle.test.ts': 52,
  'stateful-kill.test.ts': 39,
  'stateful-replay.test.ts': 35,
  'tree-cancel.test.ts': 30,
  'hostile-requests.test.ts': 27,
  'issuer-rotation.test.ts': 27,
  'stateful-upgrade.test.ts': 25,
  'reference-app.test.ts': 24,
  'client-certificates.test.ts': 20,
  'stateful-continue-as-new.test.ts': 18,
  'authorization.test.ts': 15,
  'hostile-tls.test.ts': 12,
  'issuer-parallel-keys.test.ts': 10,
  'stateful-activity.test.ts': 7,
  'secured-stack.test.ts': 6,
  'codec-server.test.ts': 5,
  'hostile-tokens.test.ts': 4,
  'worker-certificates.test.ts': 4,
  'dev-stack-lifecycle.test.ts': 4,
  'client-auth.test.ts': 2,
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
