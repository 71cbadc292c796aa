import { Command, CommanderError } from 'commander';
import { TokenRelayError } from '../errors.js';
import { registerAppCommands } from './app-commands.js';
import { registerDemoApiCommand } from './demo-api-command.js';
import { registerDevCommands } from './dev-commands.js';
import { registerIssuerCommands } from './issuer-commands.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerStartCommand } from './start-command.js';
import { registerWorkerCommand } from './worker-command.js';

const program = new Command('tokenrelay')
  .description('Temporal workers on a secured cluster: tokens, issuer and dev stack')
  .showHelpAfterError()
  .exitOverride();
registerDevCommands(program);
registerIssuerCommands(program);
registerStartCommand(program);
registerDemoApiCommand(program);
registerWorkerCommand(program);
registerAppCommands(program);
registerKeysCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof TokenRelayError) {
    process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
