import { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every top-level command and the module that defines it, in the order `--help` lists them.
 *
 * Loaded on demand: a command pays only for its own imports. `tokenrelay app create` needs neither
 * Temporal's client and worker nor the X.509 library, and loading all of them cost every invocation
 * about two CPU-seconds (measured: 87 CLI runs made up a quarter of the integration suite's CPU).
 */
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<Register>>> = {
  dev: async () => (await import('./dev-commands.js')).registerDevCommands,
  issuer: async () => (await import('./issuer-commands.js')).registerIssuerCommands,
  start: async () => (await import('./start-command.js')).registerStartCommand,
  'demo-api': async () => (await import('./demo-api-command.js')).registerDemoApiCommand,
  worker: async () => (await import('./worker-command.js')).registerWorkerCommand,
  app: async () => (await import('./app-commands.js')).registerAppCommands,
  keys: async () => (await import('./keys-commands.js')).registerKeysCommands,
  token: async () => (await import('./token-commands.js')).registerTokenCommands,
  rotation: async () => (await import('./rotation-commands.js')).registerRotationCommands,
  workflow: async () => (await import('./workflow-commands.js')).registerWorkflowCommands,
  server: async () => (await import('./server-commands.js')).registerServerCommands,
  certs: async () => (await import('./certs-commands.js')).registerCertsCommands,
  'codec-server': async () => (await import('./codec-server-command.js')).registerCodecServerCommand,
};

/**
 * The top-level command `args` (what follows `node tokenrelay`) runs, or undefined when it names
 * none we know: no command, an option first (`--help`), `help`, or a typo.
 */
export function commandNamed(args: readonly string[]): string | undefined {
  const first = args[0];
  return first !== undefined && Object.hasOwn(COMMAND_MODULES, first) ? first : undefined;
}

/**
 * The CLI's commander program with what `args` needs registered: the one command it names, else
 * every command, so help, `help <command>` and commander's "unknown command (did you mean …)" see
 * them all.
 */
export async function createProgram(args: readonly string[]): Promise<Command> {
  const program = new Command('tokenrelay')
    .description('Temporal workers on a secured cluster: tokens, issuer and dev stack')
    .showHelpAfterError()
    // Usage errors carry a code like every other failure (subcommands inherit this).
    .configureOutput({
      outputError: (text, write) => write(text.replace(/^error: /, 'error [cli.invalid_argument]: ')),
    })
    .exitOverride();
  const named = commandNamed(args);
  const names = named === undefined ? Object.keys(COMMAND_MODULES) : [named];
  const registers = await Promise.all(names.map((name) => COMMAND_MODULES[name]!()));
  for (const register of registers) register(program);
  return program;
}
