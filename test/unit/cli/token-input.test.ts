import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/cli/errors.js';
import { redact } from '../../../src/cli/token-commands.js';
import { readTokenInput } from '../../../src/cli/token-input.js';
import { testTempDir } from '../../support/temp-dir.js';

const stdinWith = (text: string, isTTY = false) =>
  Object.assign(Readable.from([Buffer.from(text)]), { isTTY }) as unknown as NodeJS.ReadStream;

describe('readTokenInput', () => {
  it('reads a token from a file, an environment variable or stdin, trimmed', async () => {
    const dir = await testTempDir('tokenrelay-cli-');
    await writeFile(join(dir, 't.jwt'), 'a.b.c\n');
    expect(await readTokenInput({ tokenFile: join(dir, 't.jwt') })).toBe('a.b.c');
    process.env.TOKENRELAY_TEST_TOKEN = ' d.e.f ';
    expect(await readTokenInput({ tokenEnv: 'TOKENRELAY_TEST_TOKEN' })).toBe('d.e.f');
    expect(await readTokenInput({}, stdinWith('g.h.i\n'))).toBe('g.h.i');
  });

  it('refuses what is not exactly one token, with a code for exit status 2', async () => {
    await expect(readTokenInput({ tokenFile: '/nonexistent/t.jwt' })).rejects.toMatchObject({
      code: 'cli.token_input_invalid',
      message: expect.stringMatching(/--token-file \/nonexistent\/t.jwt: ENOENT/),
    });
    await expect(readTokenInput({}, stdinWith(''))).rejects.toThrow(/stdin holds no token/);
    await expect(readTokenInput({}, stdinWith('one two'))).rejects.toThrow(/more than one token/);
    await expect(readTokenInput({}, stdinWith('', true))).rejects.toThrow(/pipe the token on stdin/);
    await expect(readTokenInput({ tokenFile: 'a', tokenEnv: 'b' })).rejects.toMatchObject({
      code: 'cli.invalid_argument',
    });
    expect(exitCodeFor('cli.token_input_invalid')).toBe(2);
  });
});

describe('CLI exit codes', () => {
  it.each([
    ['cli.workflow_not_found', 3],
    ['issuer.app_not_found', 3],
    ['issuer.app_exists', 4],
    ['issuer.lock_timeout', 5],
    ['cli.token_invalid', 6],
    ['auth.token_endpoint_unreachable', 1],
  ])('maps %s to %i', (code, exit) => {
    expect(exitCodeFor(code)).toBe(exit);
  });
});

describe('redact', () => {
  it('keeps enough to recognise a token and not enough to use it', () => {
    const token = `eyJhbGciOiJFUzI1NiJ9.${'x'.repeat(200)}.signature-part`;
    const shown = redact(token);
    expect(shown).toMatch(/^eyJhbGciOiJF…\(redacted \d+ chars, fingerprint [0-9a-f]{12}\)$/);
    expect(shown).not.toContain('x'.repeat(20));
    expect(shown).not.toContain('signature-part');
  });
});
