import { userInfo } from 'node:os';
import { IssuerStateError } from './errors.js';

/**
 * The actor of an admin action run from this process: the OS account (`os:<name>`), plus the account
 * that invoked sudo when there is one, since `root` alone says little about who acted. Never fails:
 * an account without a passwd entry is named by its uid.
 */
export function osActor(env: NodeJS.ProcessEnv = process.env): string {
  let name: string;
  try {
    const info = userInfo();
    name = `${info.username} (uid ${info.uid})`;
  } catch {
    name = `uid ${process.getuid?.() ?? 'unknown'}`;
  }
  const sudoUser = env.SUDO_USER;
  return `os:${name}${sudoUser ? ` via sudo from ${sudoUser}` : ''}`;
}

const maxTextLength = 500;

/** C0 and C1 controls (newlines, ESC of terminal sequences) and the Unicode line separators. */
function isControl(ch: string): boolean {
  const code = ch.codePointAt(0) as number;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

/**
 * Checks free text an operator gives (a reason, an actor): one line of printable characters, so it
 * can neither forge a line of `app show` output nor smuggle terminal escapes into it.
 */
export function checkOperatorText(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || [...value].some(isControl)) {
    throw new IssuerStateError('issuer.invalid_argument', `${name} must be one line of printable text`);
  }
  if (value.length > maxTextLength) {
    throw new IssuerStateError(
      'issuer.invalid_argument',
      `${name} must be at most ${maxTextLength} characters`,
    );
  }
  return value.trim();
}
