import type { Command } from 'commander';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ClientCredentialsTokenSource } from '../auth/client-credentials.js';
import { type DevAppName, readDevConfig } from '../devstack/dev-config.js';
import { TokenValidationError, validateToken } from '../issuer/validate-token.js';
import { apiTokenFingerprint } from '../stateful/fingerprint.js';
import { assertTokenEncrypted } from '../stateful/plaintext-guard.js';
import { assertTokenNotExpired } from '../stateful/token-expiry.js';
import { type ConnectionFlags, withConnectionOptions } from './connection-flags.js';
import { CliError } from './errors.js';
import { readTokenInput, type TokenInputFlags, withTokenInput } from './token-input.js';
import { registerTokenTreeCommand } from './token-tree-command.js';

interface JsonFlag {
  json?: boolean;
}

export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description('issue, inspect and validate JWTs; rotate a workflow tree’s API token');

  token
    .command('issue')
    .description('get a token from the issuer (default: the dev stack, --app worker) and print it on stdout')
    .option('--app <name>', 'dev application: worker, admin, reader, outsider, apiClient', 'worker')
    .option('--token-url <url>', 'token endpoint (default: the dev issuer)')
    .option(
      '--client-id <id>',
      'client id (with --token-url; the secret comes from TOKENRELAY_CLIENT_SECRET)',
    )
    .option('--json', 'print { token, expiresAt } as JSON')
    .action(async (opts: { app: string; tokenUrl?: string; clientId?: string } & JsonFlag) => {
      const source = await tokenSourceFor(opts);
      const issued = await source.getToken();
      if (process.stdout.isTTY)
        process.stderr.write('warning: this is a live credential; do not paste it into tickets or chats\n');
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ token: issued.token, expiresAt: new Date(issued.expiresAt).toISOString() })}\n`
          : `${issued.token}\n`,
      );
    });

  withTokenInput(
    token
      .command('decode')
      .description(
        'print a JWT’s header and claims without verifying it (token from --token-file, --token-env or stdin)',
      )
      .option('--json', 'print as JSON'),
  ).action(async (opts: TokenInputFlags & JsonFlag) => {
    const jwt = await readTokenInput(opts);
    let decoded: { header: unknown; claims: unknown };
    try {
      decoded = { header: decodeProtectedHeader(jwt), claims: decodeJwt(jwt) };
    } catch (cause) {
      throw new CliError('cli.token_invalid', 'not a JWT: it does not decode to a header and claims', {
        cause,
      });
    }
    process.stdout.write(`${JSON.stringify(decoded, null, opts.json ? undefined : 2)}\n`);
  });

  withTokenInput(
    token
      .command('validate')
      .description('verify a JWT against a JWKS and report which check failed (exit 6 when invalid)')
      .option('--jwks <url-or-file>', 'JWKS URL or file (default: the dev issuer’s)')
      .option('--issuer <iss>', 'required iss (default: the dev issuer)')
      .option('--audience <aud>', 'required aud (default: the dev stack’s Temporal audience)')
      .option('--clock-tolerance <seconds>', 'allowed clock skew for exp/nbf', '0')
      .option('--json', 'print the result as JSON'),
  ).action(
    async (
      opts: TokenInputFlags &
        JsonFlag & { jwks?: string; issuer?: string; audience?: string; clockTolerance: string },
    ) => {
      const jwt = await readTokenInput(opts);
      const dev = opts.jwks && opts.issuer && opts.audience ? undefined : await readDevConfig();
      const jwks = opts.jwks ?? dev?.issuer.jwksUrl ?? '';
      try {
        const { payload } = await validateToken(jwt, {
          jwks: /^https?:\/\//.test(jwks) ? new URL(jwks) : jwks,
          issuer: opts.issuer ?? dev?.issuer.url ?? '',
          audience: opts.audience ?? dev?.issuer.audience ?? '',
          clockToleranceSeconds: Number(opts.clockTolerance),
        });
        const result = { valid: true, sub: payload.sub, exp: payload.exp, permissions: payload.permissions };
        process.stdout.write(
          opts.json ? `${JSON.stringify(result)}\n` : `valid: sub=${payload.sub} exp=${payload.exp}\n`,
        );
      } catch (err) {
        if (!(err instanceof TokenValidationError)) throw err;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ valid: false, code: err.code, message: err.message })}\n`);
          process.exitCode = 6;
          return;
        }
        throw new CliError('cli.token_invalid', `${err.code}: ${err.message}`, { cause: err });
      }
    },
  );

  withTokenInput(
    withConnectionOptions(
      token
        .command('rotate')
        .description(
          'send a new API token to the root of a StatefulWorkflow tree (token from --token-file, --token-env or stdin)',
        )
        .requiredOption('--workflow-id <id>', 'the root of the tree')
        .option('--force', 'rotate even when the workflow is a child in a tree, not its root')
        .option(
          '--allow-plaintext-token',
          'send the token even though no encrypting payload codec (TOKENRELAY_CODEC_KEYS) is configured',
        ),
    ),
  ).action(
    async (
      opts: TokenInputFlags &
        ConnectionFlags & { workflowId: string; force?: boolean; allowPlaintextToken?: boolean },
    ) => {
      const jwt = await readTokenInput(opts);
      // Local refusals first: nothing is sent, and no connection is needed to learn it.
      assertTokenNotExpired(jwt, 'token rotate');
      const allowPlaintextToken = opts.allowPlaintextToken === true;
      const { rotateApiToken, treeParentOf } = await import('../stateful/client.js');
      await withWorkflowClient(opts, 'rotator', async (client) => {
        await assertTokenEncrypted(client, 'token rotate', { allowPlaintextToken });
        const handle = client.workflow.getHandle(opts.workflowId);
        const { parentWorkflowId, info } = await treeParentOf(handle);
        if (parentWorkflowId !== null) {
          const what =
            `${opts.workflowId} is a child of ${parentWorkflowId} in a StatefulWorkflow tree, not its root: ` +
            "its subtree would hold a different token from the rest of the tree until the root's next rotation";
          if (!opts.force) {
            throw new CliError(
              'cli.not_root',
              `${what}. Rotate the root instead (tokenrelay token tree --workflow-id ${parentWorkflowId} ` +
                'shows its tree), or pass --force to rotate this subtree anyway. Nothing was sent.',
            );
          }
          process.stderr.write(`warning: ${what}; sending anyway (--force)\n`);
        }
        await rotateApiToken(handle, jwt, { notRoot: 'ignore', allowPlaintextToken });
        const held = info ? `it held version ${info.version}` : 'it did not answer apiTokenInfo';
        process.stdout.write(
          `Sent token ${apiTokenFingerprint(jwt)} to ${opts.workflowId} (${held}); ` +
            `follow it with: tokenrelay token tree --workflow-id ${opts.workflowId} --wait 30s\n`,
        );
      });
    },
  );

  withConnectionOptions(
    token
      .command('show')
      .description('show the API token a workflow holds, redacted unless --reveal')
      .requiredOption('--workflow-id <id>', 'the workflow')
      .option('--reveal', 'print the whole token (a live credential)')
      .option('--json', 'print as JSON'),
  ).action(async (opts: ConnectionFlags & JsonFlag & { workflowId: string; reveal?: boolean }) => {
    const { getApiToken } = await import('../stateful/client.js');
    await withWorkflowClient(opts, 'developer', async (client) => {
      const held = await getApiToken(client, opts.workflowId);
      if (held === null) {
        process.stdout.write(opts.json ? '{"token":null}\n' : `${opts.workflowId} holds no API token\n`);
        return;
      }
      if (opts.reveal) process.stderr.write('warning: printing a live credential\n');
      const shown = opts.reveal ? held : redact(held);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ token: shown, fingerprint: apiTokenFingerprint(held), redacted: !opts.reveal })}\n`
          : `${shown}\n`,
      );
    });
  });

  withConnectionOptions(
    token
      .command('info')
      .description('show version, fingerprint and propagation of a workflow’s API token (never the token)')
      .requiredOption('--workflow-id <id>', 'the workflow')
      .option('--json', 'print as JSON'),
  ).action(async (opts: ConnectionFlags & JsonFlag & { workflowId: string }) => {
    const { getApiTokenInfo } = await import('../stateful/client.js');
    await withWorkflowClient(opts, 'reader', async (client) => {
      const info = await getApiTokenInfo(client, opts.workflowId);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(info)}\n`);
        return;
      }
      const c = info.children;
      process.stdout.write(
        [
          `workflow:    ${opts.workflowId}${info.workflowType ? ` (${info.workflowType})` : ''}`,
          `parent:      ${info.parentWorkflowId ?? '-'}`,
          `version:     ${info.version}`,
          `fingerprint: ${info.fingerprint ?? '-'}`,
          `updated at:  ${info.updatedAt ?? '-'}`,
          `children:    ${c.reached} reached, ${c.unconfirmed ?? 0} unconfirmed, ${c.pending} pending, ` +
            `${c.excluded} excluded, ${c.skipped} skipped`,
          '',
        ].join('\n'),
      );
    });
  });

  registerTokenTreeCommand(token, withWorkflowClient);
}

/** Enough to recognise a token, not enough to use it: the JWT header and the fingerprint. */
export function redact(token: string): string {
  return `${token.slice(0, 12)}…(redacted ${token.length} chars, fingerprint ${apiTokenFingerprint(token)})`;
}

export type WithWorkflowClient = typeof withWorkflowClient;

/**
 * Runs `fn` with a client; on the dev stack as `devApp` (the least privileged application the command
 * needs) unless `--dev-app` says otherwise.
 */
async function withWorkflowClient(
  flags: ConnectionFlags & { workflowId: string },
  devApp: DevAppName,
  fn: (client: import('@temporalio/client').Client) => Promise<void>,
): Promise<void> {
  // Imported here, not at the top: `token issue`, `decode` and `validate` never load Temporal's client.
  const { openClient } = await import('./connection-options.js');
  const { client, close } = await openClient(flags, devApp);
  try {
    await fn(client);
  } catch (err) {
    // By name: the class is @temporalio/common's, which this module does not load until here.
    if ((err as { name?: string }).name === 'WorkflowNotFoundError') {
      throw new CliError('cli.workflow_not_found', `no workflow ${flags.workflowId} in this namespace`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    await close();
  }
}

async function tokenSourceFor(opts: { app: string; tokenUrl?: string; clientId?: string }) {
  if (opts.tokenUrl || opts.clientId) {
    const secret = process.env.TOKENRELAY_CLIENT_SECRET;
    if (!opts.tokenUrl || !opts.clientId || !secret) {
      throw new CliError(
        'cli.invalid_argument',
        '--token-url and --client-id go together, with the secret in TOKENRELAY_CLIENT_SECRET',
      );
    }
    return new ClientCredentialsTokenSource({
      tokenUrl: opts.tokenUrl,
      clientId: opts.clientId,
      clientSecret: secret,
    });
  }
  const config = await readDevConfig();
  const app = config.apps[opts.app as DevAppName];
  if (!app) {
    throw new CliError(
      'cli.invalid_argument',
      `--app must be one of ${Object.keys(config.apps).join(', ')}, got "${opts.app}"`,
    );
  }
  return new ClientCredentialsTokenSource({
    tokenUrl: config.issuer.tokenUrl,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
  });
}
