import { describe, expect, it } from 'vitest';
import { connectError, tokenRefusal } from '../../../src/temporal/connect.js';

describe('tokenRefusal', () => {
  it('finds the gRPC status the client connection wraps in a ServiceError', () => {
    const grpc = Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), {
      code: 7,
      details: 'Request unauthorized.',
    });
    const wrapped = Object.assign(new Error('Failed to connect to Temporal server'), { cause: grpc });
    expect(tokenRefusal(wrapped)).toEqual({ reason: 'permission_denied', detail: 'Request unauthorized.' });
    expect(tokenRefusal(Object.assign(new Error('x'), { code: 16, details: 'no token' }))?.reason).toBe(
      'unauthenticated',
    );
  });

  it('reads the native connection’s message, which names the code in words', () => {
    const native = new Error(
      'Failed to call GetSystemInfo: code: \'The caller does not have permission to execute the specified operation\', message: "Request unauthorized."',
    );
    expect(tokenRefusal(native)?.reason).toBe('permission_denied');
    expect(
      tokenRefusal(new Error("code: 'The request does not have valid authentication credentials'"))?.reason,
    ).toBe('unauthenticated');
  });

  it('leaves transport failures alone', () => {
    expect(tokenRefusal(new Error('Failed to connect before the deadline'))).toBeUndefined();
    expect(tokenRefusal(Object.assign(new Error('unavailable'), { code: 14 }))).toBeUndefined();
  });
});

describe('connectError for a refused token', () => {
  it('says the token was refused, lists what to check and describes the token without printing it', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'key-1' })).toString('base64url');
    const claims = Buffer.from(
      JSON.stringify({
        aud: 'wrong-audience',
        permissions: ['default:write'],
        exp: Math.floor(Date.now() / 1000) + 60,
      }),
    ).toString('base64url');
    const token = `${header}.${claims}.c2lnbmF0dXJl`;
    const err = await connectError(
      '127.0.0.1:7233',
      Object.assign(new Error('Failed to connect'), { cause: { code: 7, details: 'Request unauthorized.' } }),
      {},
      token,
    );
    expect(err.code).toBe('temporal.token_rejected');
    expect(err.reason).toBe('permission_denied');
    expect(err.message).toMatch(/refused the token \(PermissionDenied: Request unauthorized\.\)/);
    expect(err.message).toMatch(/`aud`.*permissions.*`kid`.*expired/);
    expect(err.message).toContain('aud "wrong-audience", kid "key-1", 1 entry in `permissions`, exp in');
    expect(err.message).not.toContain(token);
    expect(err.message).not.toMatch(/check the address/);
  });
});
