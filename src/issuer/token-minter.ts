import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Application } from './applications.js';
import type { SigningKey } from './signing-keys.js';

export interface MintedToken {
  token: string;
  jti: string;
  expiresInSeconds: number;
  permissions: string[];
}

/** Claims every token carries; `permissions` is what Temporal's default claim mapper reads. */
export async function mintAccessToken(options: {
  app: Application;
  permissions: string[];
  key: SigningKey;
  issuer: string;
  audience: string;
  lifetimeSeconds: number;
  nowSeconds: number;
}): Promise<MintedToken> {
  const jti = randomUUID();
  const token = await new SignJWT({ permissions: options.permissions, scope: options.permissions.join(' ') })
    .setProtectedHeader({ alg: options.key.alg, kid: options.key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setSubject(options.app.id)
    .setAudience(options.audience)
    .setIssuedAt(options.nowSeconds)
    .setExpirationTime(options.nowSeconds + options.lifetimeSeconds)
    .setJti(jti)
    .sign(options.key.privateKey);
  return { token, jti, expiresInSeconds: options.lifetimeSeconds, permissions: options.permissions };
}
