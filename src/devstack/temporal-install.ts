import { execFile, spawn } from 'node:child_process';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { DevStackError } from './errors.js';

const run = promisify(execFile);

/**
 * The pinned server version. 1.31.x needs `go.temporal.io/auto-scaled-workers`, which the Go module
 * proxy does not serve, so 1.30.x it is (it builds with Go >= 1.25.14).
 */
export const TEMPORAL_SERVER_VERSION = 'v1.30.8';
const MODULE = 'go.temporal.io/server/cmd/server';

/** Roughly how many lines `go install -v` prints in a cold build, for a progress estimate. */
const COLD_BUILD_LINES = 1180;

export interface BuildProgress {
  /** Modules downloaded and packages compiled so far. */
  steps: number;
  /** Estimated fraction of a cold build, 0..1 (a warm Go build cache finishes early). */
  estimate: number;
  elapsedMs: number;
  /** The latest module or package name. */
  current: string;
}

export function temporalServerCacheDir(version: string = TEMPORAL_SERVER_VERSION): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'tokenrelay', `temporal-server-${version}`);
}

/**
 * Path to a Temporal server binary of `version`, building it with `go install` into a cache outside
 * the project on first use. `TOKENRELAY_TEMPORAL_SERVER` points at a prebuilt binary instead.
 */
export async function ensureTemporalServer(
  options: { version?: string; onProgress?: (p: BuildProgress) => void; onBuildStart?: () => void } = {},
): Promise<string> {
  const version = options.version ?? TEMPORAL_SERVER_VERSION;
  const override = process.env.TOKENRELAY_TEMPORAL_SERVER;
  if (override) {
    await access(override).catch(() => {
      throw new DevStackError(
        'devstack.invalid_state',
        `TOKENRELAY_TEMPORAL_SERVER=${override} does not exist`,
      );
    });
    return override;
  }
  const dir = temporalServerCacheDir(version);
  const binary = join(dir, 'server');
  if (await builtVersionMatches(binary, version)) return binary;

  await assertGo();
  options.onBuildStart?.();
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await goInstall(staging, version, options.onProgress);
  await mkdir(dir, { recursive: true });
  // Rename into place so a concurrent `dev up` never runs a half-written binary.
  await rename(join(staging, 'server'), binary);
  await rm(staging, { recursive: true, force: true });
  if (!(await builtVersionMatches(binary, version))) {
    throw new DevStackError(
      'devstack.build_failed',
      `the built ${binary} does not report version ${version}`,
    );
  }
  return binary;
}

async function builtVersionMatches(binary: string, version: string): Promise<boolean> {
  try {
    const { stdout } = await run(binary, ['--version'], { timeout: 10_000 });
    return stdout.trim().endsWith(version.replace(/^v/, ''));
  } catch {
    return false;
  }
}

async function assertGo(): Promise<void> {
  try {
    await run('go', ['version'], { timeout: 20_000 });
  } catch (cause) {
    throw new DevStackError(
      'devstack.go_missing',
      'Go is needed once to build the Temporal server: install Go >= 1.25.14 (https://go.dev/dl/) and put `go` on PATH, ' +
        'or set TOKENRELAY_TEMPORAL_SERVER to a prebuilt Temporal server binary',
      { cause },
    );
  }
}

function goInstall(gobin: string, version: string, onProgress?: (p: BuildProgress) => void): Promise<void> {
  const started = Date.now();
  const child = spawn('go', ['install', '-v', '-tags', 'disable_grpc_modules', `${MODULE}@${version}`], {
    env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const tail: string[] = [];
  let steps = 0;
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
    steps += 1;
    onProgress?.({
      steps,
      estimate: Math.min(0.99, steps / COLD_BUILD_LINES),
      elapsedMs: Date.now() - started,
      current: line.replace(/^go: downloading /, ''),
    });
  });
  return new Promise((resolve, reject) => {
    child.on('error', (cause) =>
      reject(
        new DevStackError('devstack.build_failed', `cannot run go install: ${cause.message}`, { cause }),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve();
      reject(
        new DevStackError(
          'devstack.build_failed',
          `go install ${MODULE}@${version} exited with ${code}. Last output:\n${tail.join('\n')}`,
        ),
      );
    });
  });
}
