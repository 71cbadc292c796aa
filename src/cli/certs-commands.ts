import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { devLayout } from '../devstack/layout.js';
import { ensureDevPki, issueLeaf, loadCertificateAuthority } from '../devstack/pki.js';
import { CliError } from './errors.js';
import { parsePositiveInt } from './option-parsers.js';

export function registerCertsCommands(program: Command): void {
  program
    .command('certs')
    .description('dev certificates')
    .command('generate')
    .description(
      'create the dev CA, server and client certificates if missing or near expiry; --client issues one more client certificate from that CA (e.g. to rotate a worker’s)',
    )
    .option('--dir <dir>', 'where the PKI lives (default: the dev stack’s .tokenrelay/pki)')
    .option('--client <name>', 'also issue a client certificate <name>.pem / <name>-key.pem')
    .option('--days <n>', 'validity of the --client certificate', parsePositiveInt, 30)
    .option('--json', 'print the paths as JSON')
    .action(async (opts: { dir?: string; client?: string; days: number; json?: boolean }) => {
      // Checked before anything is written: a bad name must not leave a half-done PKI behind.
      if (opts.client !== undefined && !/^(?!\.)[A-Za-z0-9._-]{1,64}$/.test(opts.client)) {
        throw new CliError(
          'cli.invalid_argument',
          `--client must be a simple file name (letters, digits, . _ -; up to 64, not starting with a dot), got ${JSON.stringify(opts.client.slice(0, 64))}`,
        );
      }
      const dir = resolve(opts.dir ?? devLayout().pkiDir);
      const { paths, generated } = await ensureDevPki(dir);
      let client: { certPath: string; keyPath: string } | undefined;
      if (opts.client) {
        client = { certPath: join(dir, `${opts.client}.pem`), keyPath: join(dir, `${opts.client}-key.pem`) };
        await issueLeaf(await loadCertificateAuthority(paths), client, {
          commonName: opts.client,
          usage: 'client',
          validityDays: opts.days,
        });
      }
      const result = { dir, generated, ...paths, ...(client ? { client } : {}) };
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(result)}\n`
          : `${generated ? 'Generated' : 'Kept'} the dev PKI in ${dir}${client ? `; issued ${client.certPath}` : ''}\n`,
      );
    });
}
