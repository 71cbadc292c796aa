import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from './errors.js';

export interface TokenInputFlags {
  tokenFile?: string;
  tokenEnv?: string;
}

/** Adds `--token-file` and `--token-env`; without either the token is read from stdin. */
export function withTokenInput(command: Command): Command {
  return command
    .option('--token-file <path>', 'read the token from this file')
    .option('--token-env <name>', 'read the token from this environment variable');
}

/**
 * The token from a file, an environment variable or stdin — never a command-line argument, which
 * would land in shell history and in `ps` output for everyone on the machine.
 */
export async function readTokenInput(
  flags: TokenInputFlags,
  stdin: NodeJS.ReadStream = process.stdin,
): Promise<string> {
  if (flags.tokenFile !== undefined && flags.tokenEnv !== undefined) {
    throw new CliError('cli.invalid_argument', 'give --token-file or --token-env, not both');
  }
  let raw: string;
  let from: string;
  if (flags.tokenFile !== undefined) {
    from = `--token-file ${flags.tokenFile}`;
    try {
      raw = await readFile(flags.tokenFile, 'utf8');
    } catch (cause) {
      throw new CliError(
        'cli.token_input_invalid',
        `cannot read ${from}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause },
      );
    }
  } else if (flags.tokenEnv !== undefined) {
    from = `--token-env ${flags.tokenEnv}`;
    raw = process.env[flags.tokenEnv] ?? '';
  } else {
    if (stdin.isTTY) {
      throw new CliError(
        'cli.token_input_invalid',
        'no token given: pass --token-file or --token-env, or pipe the token on stdin',
      );
    }
    from = 'stdin';
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    raw = Buffer.concat(chunks).toString('utf8');
  }
  const token = raw.trim();
  if (token === '' || /\s/.test(token)) {
    throw new CliError(
      'cli.token_input_invalid',
      `${from} ${token === '' ? 'holds no token' : 'holds more than one token (whitespace inside)'}`,
    );
  }
  return token;
}
