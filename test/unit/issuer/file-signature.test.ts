import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileSignature } from '../../../src/issuer/file-signature.js';
import { writeJsonFileAtomic } from '../../../src/json-file.js';
import { testTempDir } from '../../support/temp-dir.js';

describe('fileSignature', () => {
  it('changes with every atomic rewrite, even of the same size at once, and is undefined for no file', async () => {
    const path = join(await testTempDir('tokenrelay-sig-'), 'apps.json');
    expect(await fileSignature(path)).toBeUndefined();
    await writeJsonFileAtomic(path, { a: 1 });
    const first = await fileSignature(path);
    expect(await fileSignature(path)).toBe(first);
    await writeJsonFileAtomic(path, { a: 2 }); // same size, same millisecond
    expect(await fileSignature(path)).not.toBe(first);
  });
});
