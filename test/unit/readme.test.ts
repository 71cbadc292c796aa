import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

// The README's code is the examples/ folder, which `tsc --noEmit` type-checks against the package.
describe('README examples', () => {
  it('are exactly the type-checked files in examples/', async () => {
    const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)];
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const [, path, code] of blocks) {
      expect(code, `${path} differs from its README copy`).toBe(
        await readFile(join(packageRoot(), path as string), 'utf8'),
      );
    }
  });
});
