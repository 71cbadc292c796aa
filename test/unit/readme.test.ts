import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';

const entries: Record<string, string> = {
  tokenrelay: 'src/index.ts',
  'tokenrelay/workflow': 'src/workflow.ts',
  'tokenrelay/dev': 'src/dev.ts',
};

/** The names an entry module exports (`export { a, type B } from …` and `export … function/class c`). */
async function exportedNames(file: string): Promise<Set<string>> {
  const text = await readFile(join(packageRoot(), file), 'utf8');
  const names = new Set<string>();
  for (const [, list] of text.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of (list as string).split(',')) {
      const name = item
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .at(-1);
      if (name) names.add(name);
    }
  }
  for (const [, name] of text.matchAll(/export (?:async )?(?:function|class|const|interface|type) (\w+)/g)) {
    names.add(name as string);
  }
  return names;
}

// The README's code is the examples/ folder, which `tsc --noEmit` type-checks against the package and
// the package-install test compiles in an app of its own against the installed tarball.
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

  it('import only what the package entries export, from the entry that exports it', async () => {
    const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8');
    const exported = Object.fromEntries(
      await Promise.all(
        Object.entries(entries).map(async ([spec, file]) => [spec, await exportedNames(file)]),
      ),
    ) as Record<string, Set<string>>;
    const imports = [...readme.matchAll(/import (?:type )?\{([^}]*)\} from '(tokenrelay(?:\/[a-z]+)?)'/g)];
    expect(imports.length).toBeGreaterThan(0);
    for (const [, list, spec] of imports) {
      const available = exported[spec as string];
      expect(available, `README imports from unknown entry ${spec}`).toBeDefined();
      for (const item of (list as string).split(',')) {
        const name = item
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0];
        if (name) expect(available?.has(name), `${spec} does not export ${name}`).toBe(true);
      }
    }
  });

  it('has an "Install in your project" section whose npm install names every peer dependency', async () => {
    const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8');
    const pkg = JSON.parse(await readFile(join(packageRoot(), 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    };
    const section = readme.split(/^## /m).find((s) => s.startsWith('Install in your project')) ?? '';
    const install = section.match(/npm install tokenrelay[^`]*/)?.[0].replace(/\\\n/g, ' ') ?? '';
    expect(Object.keys(pkg.peerDependencies).length).toBeGreaterThan(0);
    for (const peer of Object.keys(pkg.peerDependencies)) expect(install).toContain(peer);
  });
});
