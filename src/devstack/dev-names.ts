// The names the dev stack gives things that several of its parts must agree on: the namespace its
// applications are scoped to, and the audiences the dev issuer's tokens are minted for.

/** The Temporal namespace `dev up` registers and the dev applications' permissions name. */
export const DEV_NAMESPACE = 'default';
/** `aud` of tokens for Temporal: the issuer's default audience, and what the server checks. */
export const DEV_AUDIENCE = 'tokenrelay-dev';
/** `aud` of tokens for the demo API, so such a token is useless against Temporal and the other way round. */
export const DEMO_API_AUDIENCE = 'tokenrelay-demo-api';
