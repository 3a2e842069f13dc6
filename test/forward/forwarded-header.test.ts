import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardedNode, forwardedValue, parseForwarded } from '../../src/outbound/forwarded-header.js';

describe('parseForwarded', () => {
  test('elements, pairs, case-insensitive names, quoted values with escapes', () => {
    assert.deepEqual(parseForwarded('For=192.0.2.60;Proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'), [
      { for: '192.0.2.60', proto: 'http' },
      { for: '[2001:db8:cafe::17]:4711' },
    ]);
    assert.deepEqual(parseForwarded('for="a\\"b";host="x,y;z"'), [{ for: 'a"b', host: 'x,y;z' }]);
    assert.deepEqual(parseForwarded('for=unknown ,for=_hidden'), [{ for: 'unknown' }, { for: '_hidden' }]);
  });

  test('malformed headers are rejected as a whole', () => {
    for (const bad of ['for', 'for=', 'for="open', 'for=a b', 'for=1;for=2', '=x', 'for=[::1]']) {
      assert.equal(parseForwarded(bad), undefined, bad);
    }
  });
});

describe('formatting', () => {
  test('tokens bare, everything else quoted; IPv6 nodes bracketed', () => {
    assert.equal(forwardedValue('example.com'), 'example.com');
    assert.equal(forwardedValue('example.com:8443'), '"example.com:8443"');
    assert.equal(forwardedValue('a"b\\'), '"a\\"b\\\\"');
    assert.equal(forwardedNode('192.0.2.1'), '192.0.2.1');
    assert.equal(forwardedNode('2001:db8::1'), '"[2001:db8::1]"');
  });

  test('what we format, we parse back', () => {
    const header = `for=${forwardedNode('2001:db8::1')};host=${forwardedValue('app.example:8443')}`;
    assert.deepEqual(parseForwarded(header), [{ for: '[2001:db8::1]', host: 'app.example:8443' }]);
  });
});
