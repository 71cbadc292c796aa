/** One structured line of the issuer's own log (stdout of `issuer start`); never a secret or a token. */
export interface IssuerLogEvent {
  event:
    | 'token_issued'
    | 'token_refused'
    | 'request_failed'
    /** Something an operator must act on: a bootstrap credential without expiry, stale state. */
    | 'warning'
    | 'state_file_unreadable'
    | 'state_file_recovered'
    | 'tls_reloaded'
    | 'tls_reload_failed'
    | 'loopback_http_listening';
  [field: string]: string | number | undefined;
}

/** Receives the issuer's log events. */
export type IssuerLog = (event: IssuerLogEvent) => void;
