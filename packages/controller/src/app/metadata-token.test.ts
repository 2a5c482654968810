import { describe, expect, it } from 'vitest';
import { newMetadataToken, openQueuedToken, sealQueuedToken } from './metadata-token.ts';
import { createSecretBox, generateSecretKey } from './secret-box.ts';

describe('metadata tokens in queued boot plans', () => {
  it('are sealed (no part of the token in clear) and open to the token', () => {
    const box = createSecretBox(generateSecretKey());
    const { token } = newMetadataToken('m1', 0);
    const sealed = sealQueuedToken(box, token);
    for (const part of token.split(':')) expect(sealed).not.toContain(part);
    expect(openQueuedToken(box, sealed)).toBe(token);
  });

  it('pass through when queued before sealing, and refuse another key', () => {
    const box = createSecretBox(generateSecretKey());
    const { token } = newMetadataToken('m1', 0);
    expect(openQueuedToken(box, token)).toBe(token);
    const other = sealQueuedToken(createSecretBox(generateSecretKey()), token);
    expect(() => openQueuedToken(box, other)).toThrow();
  });
});
