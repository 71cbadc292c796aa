import { stat } from 'node:fs/promises';

/**
 * A cheap "has this file changed" key: inode, size and timestamps. Every writer of the issuer's state
 * files replaces them by rename (a new inode), so an edit is seen even within one timestamp tick; a
 * stat per request is far cheaper than reading and comparing the file. Undefined when it cannot be
 * stat-ed (the caller then reads, and reports the error).
 */
export async function fileSignature(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}
