/** Why a benchmark step could not produce its figure. */
export type BenchErrorCode =
  | 'bench.timeout'
  /** A port setting the bench cannot use safely. */
  | 'bench.ports'
  | 'bench.worker_failed'
  | 'bench.server_failed'
  | 'bench.unexpected_response';

/** A benchmark step failed; `code` says which kind of failure, the message says where. */
export class BenchError extends Error {
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BenchError';
    this.code = code;
  }
}

/** How a failed measurement is recorded in the results: `Name: message`. */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
