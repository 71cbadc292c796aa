import { Command, CommanderError } from 'commander';
import { TokenRelayError } from '../errors.js';
import { registerAppCommands } from './app-commands.js';
import { registerCertsCommands } from './certs-commands.js';
import { registerCodecServerCommand } from './codec-server-command.js';
import { registerDemoApiCommand } from './demo-api-command.js';
import { registerDevCommands } from './dev-commands.js';
import { exitCodeFor } from './errors.js';
import { registerIssuerCommands } from './issuer-commands.js';
import { registerKeysCommands } from './keys-commands.js';
import { registerServerCommands } from './server-commands.js';
import { registerStartCommand } from './start-command.js';
import { registerTokenCommands } from './token-commands.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerWorkflowCommands } from './workflow-commands.js';

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
registerTokenCommands(program);
registerWorkflowCommands(program);
registerServerCommands(program);
registerCertsCommands(program);
registerCodecServerCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Usage errors exit 2 like other CLIs; help and --version are not errors.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof TokenRelayError) {
    process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    process.exit(exitCodeFor(err.code));
  }
  throw err;
}
