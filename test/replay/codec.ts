// The payload codec of the replay fixtures. Its key is derived from a public phrase: it protects
// nothing but the throwaway test tokens in test/replay/fixtures, and exists so the fixtures look like
// real histories (every payload `binary/encrypted`) and replay goes through the same codec path as a
// worker does. Never use it outside these fixtures.
import { createHash } from 'node:crypto';
import { AesGcmPayloadCodec } from '../../src/codec/aes-gcm-codec.js';

export const REPLAY_FIXTURE_KEY_ID = 'replay-fixtures';

export function replayFixtureCodec(): Promise<AesGcmPayloadCodec> {
  const key = createHash('sha256').update('tokenrelay test/replay fixtures: public test-only key').digest();
  return AesGcmPayloadCodec.create({
    keys: { [REPLAY_FIXTURE_KEY_ID]: key.toString('base64') },
    encryptionKeyId: REPLAY_FIXTURE_KEY_ID,
  });
}
