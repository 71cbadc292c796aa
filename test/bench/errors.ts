/** Why a benchmark step could not produce its figure. */
export type BenchErrorCode =
  | 'bench.timeout'
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
