import { type Command, Option } from 'commander';
import { listSigningKeys, rotateSigningKey, type SigningKeyInfo } from '../issuer/signing-key-admin.js';
import { signingAlgorithms } from '../issuer/signing-keys.js';
import { print, reasonOf, runAdminAction, withStateOptions } from './app-commands.js';

export function registerKeysCommands(program: Command): void {
  const keys = program.command('keys').description('the issuer signing keys and their rotation');

  withStateOptions(
    keys
      .command('list')
      .description('list signing keys with their state: pending, active, retiring, retired'),
  ).action((opts: { stateDir?: string; json?: boolean }) =>
    runAdminAction(opts, async (state) => {
      const list = await listSigningKeys(state.signingKeys);
      print(opts, list, () => list.map(describeKey).join(''));
    }),
  );

  withStateOptions(
    keys
      .command('rotate')
      .description(
        'add a signing key: published now, signing after the publish-ahead time; the current key retires once its tokens expired',
      )
      .addOption(
        new Option('--alg <alg>', 'algorithm of the new key (default: the issuer config)').choices(
          signingAlgorithms,
        ),
      )
      .option('--reason <text>', 'why: recorded in the audit log with the OS user who ran this'),
  ).action((opts: { stateDir?: string; json?: boolean; alg?: 'ES256' | 'RS256'; reason?: string }) =>
    runAdminAction(opts, async (state) => {
      const result = await rotateSigningKey(state.signingKeys, {
        ...(opts.alg ? { alg: opts.alg } : {}),
        ...reasonOf(opts),
      });
      print(
        opts,
        result,
        () =>
          `Created ${result.created.kid} (${result.created.alg}); it signs from ${result.created.activatesAt}\n` +
          (result.pruned.length ? `Pruned retired keys: ${result.pruned.join(', ')}\n` : '') +
          result.keys.map(describeKey).join(''),
      );
    }),
  );
}

function describeKey(k: SigningKeyInfo): string {
  const times = [
    `activates ${k.activatesAt}`,
    ...(k.signsUntil ? [`signs until ${k.signsUntil}`] : []),
    ...(k.publishedUntil ? [`published until ${k.publishedUntil}`] : []),
  ];
  return `${k.kid}  ${k.alg}  ${k.state.padEnd(8)}  ${times.join(', ')}\n`;
}
