import { existsSync } from 'node:fs';
import { CommanderError } from 'commander';
import { devLayout } from '../devstack/layout.js';
import { EXIT_STATUS, exitCodeFor, toCliError } from './errors.js';
import { createProgram } from './program.js';

// Whatever fails, and however late (a rejected promise after the command returned), ends the same way.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  const program = await createProgram(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (err) {
  // Usage errors exit 2 like other CLIs (commander printed them); help and --version are not errors.
  if (err instanceof CommanderError)
    process.exit(err.exitCode === 0 ? EXIT_STATUS.done : EXIT_STATUS.badInput);
  fail(err);
}

/**
 * Prints `error [code]: message` (never a stack trace: set TOKENRELAY_DEBUG=1 for one) and exits with
 * the status the exit-code table gives the code.
 */
function fail(err: unknown): never {
  const error = toCliError(err);
  process.stderr.write(`error [${error.code}]: ${error.message}\n`);
  const hint = devStackHint(error.code, error.message);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  if (process.env.TOKENRELAY_DEBUG) process.stderr.write(`${debugTrace(err)}\n`);
  process.exit(exitCodeFor(error.code));
}

/**
 * Commands find the dev stack in TOKENRELAY_HOME, else ./.tokenrelay of the current folder; run from
 * another folder, a running stack looks absent. Say where we looked whenever that is the problem.
 */
function devStackHint(code: string, message: string): string | undefined {
  const noDevStack =
    code === 'devstack.not_running' || (code === 'cli.invalid_argument' && /dev up/.test(message));
  if (!noDevStack || process.argv[2] === 'dev') return undefined;
  const layout = devLayout();
  if (existsSync(layout.devConfigPath)) return undefined;
  return (
    `no dev stack in ${layout.root} (${process.env.TOKENRELAY_HOME ? 'TOKENRELAY_HOME' : 'the default, ./.tokenrelay in the current folder'}); ` +
    'run the command from the folder where you ran `tokenrelay dev up`, or set TOKENRELAY_HOME to that stack’s folder'
  );
}

function debugTrace(err: unknown): string {
  const lines: string[] = [];
  let e = err as { stack?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    lines.push(`${depth === 0 ? '' : 'caused by: '}${typeof e.stack === 'string' ? e.stack : String(e)}`);
  }
  return lines.join('\n');
}
