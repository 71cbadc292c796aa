/**
 * Base class of every error tokenrelay throws. `code` is stable and namespaced by part
 * (`auth.*`, `issuer.*`, `devstack.*`, `temporal.*`), so callers can `switch (err.code)` instead of
 * matching messages. Messages say what was wrong and what to do; they never contain a token or secret.
 */
export class TokenRelayError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
