import { existsSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { devLayout } from '../devstack/layout.js';
import { registerAppCommands } from './app-commands.js';
import { registerCertsCommands } from './certs-commands.js';
import { registerCodecServerCommand } from './codec-server-command.js';
import { registerDemoApiCommand } from './demo-api-command.js';
import { registerDevCommands } from './dev-commands.js';
import { EXIT_STATUS, exitCodeFor, toCliError } from './errors.js';
import { registerIssuerCommands } from './issuer-commands.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerRotationCommands } from './rotation-commands.js';
import { registerServerCommands } from './server-commands.js';
import { registerStartCommand } from './start-command.js';
import { registerTokenCommands } from './token-commands.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerWorkflowCommands } from './workflow-commands.js';

const program = new Command('tokenrelay')
  .description('Temporal workers on a secured cluster: tokens, issuer and dev stack')
  .showHelpAfterError()
  // Usage errors carry a code like every other failure (subcommands inherit this).
  .configureOutput({
    outputError: (text, write) => write(text.replace(/^error: /, 'error [cli.invalid_argument]: ')),
  })
  .exitOverride();
registerDevCommands(program);
registerIssuerCommands(program);
registerStartCommand(program);
registerDemoApiCommand(program);
registerWorkerCommand(program);
registerAppCommands(program);
registerKeysCommands(program);
registerTokenCommands(program);
registerRotationCommands(program);
registerWorkflowCommands(program);
registerServerCommands(program);
registerCertsCommands(program);
registerCodecServerCommand(program);

// Whatever fails, and however late (a rejected promise after the command returned), ends the same way.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
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
