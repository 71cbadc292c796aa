// The token a workflow holds and the rule that decides whether an incoming one replaces it. Plain
// TypeScript with no Temporal calls, so the ordering rules are unit-tested outside a workflow.
import { apiTokenFingerprint } from './fingerprint.js';
import type { ApiTokenEnvelope } from './messages.js';

/** The token a workflow holds, with what is needed to order and describe it. */
export interface HeldApiToken {
  token: string;
  version: number;
  fingerprint: string;
  /** ISO 8601 workflow time at which it was accepted. */
  updatedAt: string;
}

/** Why an incoming token was not taken. */
export type RejectedReason =
  /** An envelope whose version is not newer than the one held (a late or repeated delivery). */
  | 'stale'
  /** Neither a non-empty string nor a `{ token, version }` envelope with a positive integer version. */
  | 'malformed';

export type AcceptOutcome = { accepted: true; version: number } | { accepted: false; reason: RejectedReason };

/** Long enough for any JWT or API key, short enough that a mistaken payload is not kept in state. */
const MAX_TOKEN_LENGTH = 64 * 1024;

/**
 * Holds one token and applies the ordering rule: a raw string (from a rotator) always wins and gets the
 * next version; an envelope (from a parent) wins only when its version is higher than the held one,
 * so reordered, repeated or replayed deliveries can never move a workflow back to an older token.
 */
export class ApiTokenState {
  #held: HeldApiToken | null = null;

  constructor(initial?: { envelope: ApiTokenEnvelope; updatedAt: string }) {
    if (initial && isEnvelope(initial.envelope)) this.#take(initial.envelope, initial.updatedAt);
  }

  get current(): HeldApiToken | null {
    return this.#held;
  }

  /** The held version, 0 while no token is held. */
  get version(): number {
    return this.#held?.version ?? 0;
  }

  /** Applies an incoming `apiToken` signal value received at workflow time `now`. */
  accept(value: unknown, now: Date): AcceptOutcome {
    if (typeof value === 'string') {
      if (!isUsableToken(value)) return { accepted: false, reason: 'malformed' };
      const version = this.version + 1;
      this.#take({ token: value, version }, now.toISOString());
      return { accepted: true, version };
    }
    if (!isEnvelope(value)) return { accepted: false, reason: 'malformed' };
    if (value.version <= this.version) return { accepted: false, reason: 'stale' };
    this.#take(value, now.toISOString());
    return { accepted: true, version: value.version };
  }

  #take(envelope: ApiTokenEnvelope, updatedAt: string): void {
    this.#held = {
      token: envelope.token,
      version: envelope.version,
      fingerprint: apiTokenFingerprint(envelope.token),
      updatedAt,
    };
  }
}

/** Whether `value` is a well-formed `{ token, version }` envelope. */
export function isEnvelope(value: unknown): value is ApiTokenEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const { token, version } = value as Record<string, unknown>;
  return isUsableToken(token) && Number.isSafeInteger(version) && (version as number) > 0;
}

function isUsableToken(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}
