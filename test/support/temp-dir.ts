// Temporary folders for tests that clean up after themselves, so a test run leaves nothing in the
// OS temp folder (every unit run used to leave a handful of `tokenrelay-*` folders behind).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A new folder under the OS temp folder, removed when the current test finishes, passed or failed. */
export async function testTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
