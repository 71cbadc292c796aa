import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_MODULES, commandNamed, createProgram } from '../../../src/cli/program.js';
import { packageRoot } from '../../../src/package-root.js';

const run = promisify(execFile);
const names = Object.keys(COMMAND_MODULES);

// Loading every command's modules takes seconds of CPU (that is why they load lazily), and the fast
// tier runs beside tsc: deadlines well above vitest's default 5 s.
describe('the CLI program', { timeout: 60_000 }, () => {
  it('each entry of the command table registers exactly the top-level command it is named after', async () => {
    for (const name of names) {
      const program = new Command('tokenrelay');
      (await COMMAND_MODULES[name]!())(program);
      expect(
        program.commands.map((c) => c.name()),
        name,
      ).toEqual([name]);
    }
  });

  it('finds the command an argument list names, and none for help, options first or typos', () => {
    expect(commandNamed(['app', 'create', '--name', 'x'])).toBe('app');
    expect(commandNamed(['codec-server'])).toBe('codec-server');
    expect(commandNamed([])).toBeUndefined();
    expect(commandNamed(['--help'])).toBeUndefined();
    expect(commandNamed(['help', 'token'])).toBeUndefined();
    expect(commandNamed(['tokn', 'issue'])).toBeUndefined();
    // Not fooled by what every object has.
    expect(commandNamed(['constructor'])).toBeUndefined();
    expect(commandNamed(['toString'])).toBeUndefined();
  });

  it('registers only the named command, and every command (in table order) for help and typos', async () => {
    const one = await createProgram(['keys', 'list']);
    expect(one.commands.map((c) => c.name())).toEqual(['keys']);
    for (const args of [[], ['--help'], ['help', 'app'], ['tokn']]) {
      const all = await createProgram(args);
      expect(all.commands.map((c) => c.name())).toEqual(names);
    }
  });

  it('suggests the right command for a typo, since every command is known then', async () => {
    const program = await createProgram(['tokn']);
    let written = '';
    program.configureOutput({ writeErr: (text) => (written += text) });
    await expect(program.parseAsync(['node', 'tokenrelay', 'tokn'])).rejects.toThrow();
    expect(written).toMatch(/unknown command 'tokn'[\s\S]*token/);
  });

  // The reason the table exists: commands that never talk to Temporal do not load its client, its
  // worker (the native core) or the X.509 library. A new static import that drags them back fails here.
  it.each([
    ['app', /@temporalio\/(client|worker)|@peculiar\/x509/],
    ['keys', /@temporalio\/(client|worker)|@peculiar\/x509/],
    ['token', /@temporalio\/(client|worker)|@peculiar\/x509/],
    ['certs', /@temporalio\/(client|worker)/],
  ])('defining `%s` loads none of %s', async (name, heavy) => {
    const script = `
      import { createRequire } from 'node:module';
      const { createProgram } = await import('./src/cli/program.ts');
      await createProgram([${JSON.stringify(name)}, '--help']);
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: packageRoot(),
    });
    const loaded = (JSON.parse(stdout) as string[]).filter((path) => heavy.test(path));
    expect(loaded).toEqual([]);
  });
});
