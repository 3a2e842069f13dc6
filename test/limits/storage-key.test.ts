import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { boundedKey, MAX_KEY_CHARS, redisTag } from '../../src/limits/storage-key.js';

describe('storage keys', () => {
  it('short keys are kept; long ones become a fixed-size hash', () => {
    assert.equal(boundedKey('ip:203.0.113.9'), 'ip:203.0.113.9');
    const long = boundedKey('x'.repeat(MAX_KEY_CHARS + 1));
    assert.match(long, /^%H[0-9a-f]{64}$/);
    assert.notEqual(boundedKey(long), long, 'a caller cannot pose as a hashed key');
  });

  it('Redis tags contain exactly one pair of braces and stay unambiguous', () => {
    assert.equal(redisTag('r:l', 'client:{a}'), '{r%3Al:client:%7Ba%7D}');
    assert.notEqual(redisTag('a:b', 'c'), redisTag('a', 'b:c'));
    assert.notEqual(redisTag('a', '%7B'), redisTag('a', '{'));
    const tag = redisTag('id', '{'.repeat(500));
    assert.match(tag, /^\{id:%H[0-9a-f]{64}\}$/);
  });
});
