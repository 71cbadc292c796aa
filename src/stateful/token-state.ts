// The token a workflow holds and the rules that decide whether an incoming one replaces it. Plain
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
  /** Not newer than the one held (a late, repeated or replayed delivery). */
  | 'stale'
  /** Not a non-empty string (rotation), or not a `{ token, version }` envelope with a positive safe integer version. */
  | 'malformed'
  /** An envelope on the public `apiToken` signal: only raw tokens are taken there. */
  | 'envelope_refused'
  /** A handoff whose version is more than {@link MAX_FUTURE_MS} ahead of workflow time: forged or pinning. */
  | 'future';

export type AcceptOutcome = { accepted: true; version: number } | { accepted: false; reason: RejectedReason };

/**
 * How far ahead of a workflow's time a handed version may be. Versions follow workflow time, so a
 * genuine one is at most a few milliseconds ahead (a burst of rotations within one millisecond); an
 * hour bounds what a forged handoff could pin, on a server that does not refuse reserved signals.
 */
export const MAX_FUTURE_MS = 60 * 60 * 1000;

/** Long enough for any JWT or API key, short enough that a mistaken payload is not kept in state. */
const MAX_TOKEN_LENGTH = 64 * 1024;

/**
 * Holds one token and applies the ordering rules.
 *
 * Current rules (hybrid logical clock): a raw token from a rotator gets `max(held + 1, nowMs)`; a
 * parent's handoff replaces the held token iff its version is higher, or equal with a different
 * token (the parent wins a tie, so two different tokens never settle at one version), and is refused
 * when more than an hour ahead of workflow time. A held version that is itself that far ahead (pinned
 * under release 0.1.0) counts as 0, so the next rotation or handoff replaces it.
 *
 * Release 0.1.0 rules ({@link ApiTokenState.acceptLegacy}), kept to replay its histories: a raw token
 * gets `held + 1`, an envelope on the public signal replaces the held token iff its version is higher.
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

  /** A raw token from a rotator, received at workflow time `now`. */
  rotate(value: unknown, now: Date): AcceptOutcome {
    if (!isUsableToken(value)) {
      return { accepted: false, reason: isEnvelope(value) ? 'envelope_refused' : 'malformed' };
    }
    const version = Math.max(this.#trustedVersion(now) + 1, now.getTime());
    if (!Number.isSafeInteger(version)) return { accepted: false, reason: 'malformed' };
    this.#take({ token: value, version }, now.toISOString());
    return { accepted: true, version };
  }

  /** A parent's handoff `{ token, version }`, received at workflow time `now`. */
  handoff(value: unknown, now: Date): AcceptOutcome {
    if (!isEnvelope(value)) return { accepted: false, reason: 'malformed' };
    if (value.version > now.getTime() + MAX_FUTURE_MS) return { accepted: false, reason: 'future' };
    const held = this.#trustedVersion(now);
    const newer = value.version > held || (value.version === held && value.token !== this.#held?.token);
    if (!newer) return { accepted: false, reason: 'stale' };
    this.#take(value, now.toISOString());
    return { accepted: true, version: value.version };
  }

  /**
   * Release 0.1.0's `apiToken` signal: a raw string gets the next version, an envelope is taken iff
   * newer. Only for replaying histories of that release (and runs started by it, until they switch).
   */
  acceptLegacy(value: unknown, now: Date): AcceptOutcome {
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

  /** The held version, or 0 when it is further ahead of `now` than any genuine version can be. */
  #trustedVersion(now: Date): number {
    return this.version > now.getTime() + MAX_FUTURE_MS ? 0 : this.version;
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

/** Whether `version` is further ahead of workflow time `now` than a genuine version can be. */
export function isFutureVersion(version: number, now: Date): boolean {
  return version > now.getTime() + MAX_FUTURE_MS;
}

function isUsableToken(token: unknown): token is string {
  return typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_LENGTH;
}
