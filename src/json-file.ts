import { randomBytes } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';

/**
 * Writes `value` as pretty JSON, mode 0600, to a uniquely named temporary file renamed into place:
 * a reader never sees half a file, and two writers never share a temporary file.
 */
export async function writeJsonFileAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFile passes through the umask; these files hold secrets, so be exact.
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
