/**
 * The signing-key rotation rule of docs/architecture.md §2, as a pure function of time:
 *
 * - a key is `pending` until its `activatesAt`: published in the JWKS, signing nothing, so every
 *   verifier has refreshed its JWKS and knows the key before the first token signed with it arrives;
 * - the key with the latest `activatesAt` that has passed is `active` and signs;
 * - an older key stopped signing when its successor activated and is `retiring` — still published —
 *   until every token it may have signed has expired (`signsUntil` + the longest token lifetime);
 * - after that it is `retired`: dropped from the JWKS, and pruned from the file by the next rotation.
 *
 * States follow from stored times alone, so a running issuer promotes keys by the clock, without a
 * write, and every process (issuer, CLI) agrees on the state.
 */
export type SigningKeyState = 'pending' | 'active' | 'retiring' | 'retired';

export interface ScheduledKey {
  kid: string;
  createdAtMs: number;
  activatesAtMs: number;
}

export interface SigningKeyStatus extends ScheduledKey {
  state: SigningKeyState;
  /** When the key stopped (or will stop) signing; undefined while nothing succeeds it. */
  signsUntilMs: number | undefined;
  /** When the key leaves the JWKS; undefined while it may still sign. */
  publishedUntilMs: number | undefined;
}

/**
 * Each key's state at `nowMs`, in activation order. `maxTokenLifetimeSeconds` is the longest lifetime
 * the issuer grants (default or any application's), which bounds how long a retiring key's tokens live.
 */
export function signingKeySchedule(
  keys: readonly ScheduledKey[],
  nowMs: number,
  maxTokenLifetimeSeconds: number,
): SigningKeyStatus[] {
  const ordered = [...keys].sort(
    (a, b) => a.activatesAtMs - b.activatesAtMs || a.createdAtMs - b.createdAtMs,
  );
  let activeIndex = -1;
  ordered.forEach((key, index) => {
    if (key.activatesAtMs <= nowMs) activeIndex = index;
  });
  return ordered.map((key, index) => {
    const successor = ordered[index + 1];
    const signsUntilMs = successor?.activatesAtMs;
    const publishedUntilMs =
      signsUntilMs === undefined ? undefined : signsUntilMs + maxTokenLifetimeSeconds * 1000;
    let state: SigningKeyState;
    if (index === activeIndex) state = 'active';
    else if (index > activeIndex) state = 'pending';
    else state = publishedUntilMs !== undefined && publishedUntilMs > nowMs ? 'retiring' : 'retired';
    return { ...key, state, signsUntilMs, publishedUntilMs };
  });
}
