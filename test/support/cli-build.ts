// The CLI compiled once for a whole integration run. Every CLI process a test or the dev stack starts
// (about a hundred per run: `token tree`, `app key create`, the issuer, worker and demo-api daemons)
// otherwise loads tsx and goes through its loader thread: measured on 2 cores, `token --help` took
// 1.2 CPU-s through tsx against 0.56 compiled. bin/tokenrelay.js runs this build in a source checkout
// when TOKENRELAY_TEST_CLI_BUILD names it (an installed package ignores the variable).
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { packageRoot } from '../../src/package-root.js';

/** The variable bin/tokenrelay.js reads. */
export const CLI_BUILD_ENV = 'TOKENRELAY_TEST_CLI_BUILD';

/** The folders the CLI needs at run time, as in the published build (tsconfig.build.json). */
const SOURCE_FOLDERS = ['src', 'workflows', 'activities'];

/**
 * Transpiles the CLI's sources file by file (types are checked by the fast tier's `tsc`; this only
 * strips them, as tsx does) into a fresh folder under node_modules/.cache, which keeps the package's
 * own node_modules and package.json ("type": "module") in reach. Returns the folder; remove it with
 * {@link removeCliBuild}.
 */
export async function buildCli(name: string): Promise<string> {
  const root = packageRoot();
  const out = join(root, 'node_modules', '.cache', 'tokenrelay', name);
  await rm(out, { recursive: true, force: true });
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    esModuleInterop: true,
  };
  for (const folder of SOURCE_FOLDERS) {
    for (const file of await typeScriptFiles(join(root, folder))) {
      const { outputText } = ts.transpileModule(await readFile(file, 'utf8'), {
        compilerOptions: options,
        fileName: file,
      });
      const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, outputText);
    }
  }
  return out;
}

export async function removeCliBuild(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}

async function typeScriptFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}
