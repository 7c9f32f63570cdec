/** JSON syntax errors carry the line and column of the first bad character. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findJsonSyntaxError, parseJsonText } from '../../../src/manifest/index.js';
import { expectCode } from './assert-manifest-error.js';

const CASES: { name: string; text: string; line: number; column: number; reason: RegExp }[] = [
  { name: 'trailing comma in an object', text: '{\n  "a": 1,\n}', line: 3, column: 1, reason: /trailing comma/ },
  { name: 'trailing comma in an array', text: '[1,\n 2,\n]', line: 3, column: 1, reason: /trailing comma/ },
  { name: 'missing comma', text: '{"a": 1\n "b": 2}', line: 2, column: 2, reason: /"," or "}"/ },
  { name: 'single-quoted name', text: "{\n\t'a': 1}", line: 2, column: 2, reason: /property name/ },
  { name: 'bad literal', text: '{"a": tru}', line: 1, column: 7, reason: /value was expected/ },
  { name: 'unterminated string', text: '{"a": "abc', line: 1, column: 7, reason: /unterminated string/ },
  { name: 'raw newline in a string', text: '{"a": "ab\nc"}', line: 1, column: 10, reason: /control character/ },
  { name: 'bad escape', text: '["\\x41"]', line: 1, column: 3, reason: /bad escape/ },
  { name: 'leading zero', text: '[01]', line: 1, column: 3, reason: /malformed number/ },
  { name: 'truncated document', text: '{\n  "a": [1, 2', line: 2, column: 13, reason: /end of input/ },
  { name: 'empty text', text: '', line: 1, column: 1, reason: /end of input/ },
  { name: 'two values', text: '{} {}', line: 1, column: 4, reason: /after the end/ },
  { name: 'CRLF line ends', text: '{\r\n  "a": 1,\r\n  "b" 2\r\n}', line: 3, column: 7, reason: /":"/ },
];

describe('JSON syntax errors', () => {
  for (const c of CASES) {
    it(`${c.name} → line ${c.line}, column ${c.column}`, async () => {
      const where = findJsonSyntaxError(c.text);
      assert.ok(where, 'no error found');
      assert.deepEqual([where.line, where.column], [c.line, c.column], where.reason);
      assert.match(where.reason, c.reason);
      const e = await expectCode(() => parseJsonText(c.text, 'm.json'), 'MANIFEST_INVALID_JSON');
      assert.equal(e.details.line, c.line);
      assert.equal(e.details.column, c.column);
      assert.ok(e.message.startsWith(`m.json:${c.line}:${c.column}: invalid JSON: `), e.message);
    });
  }

  it('finds nothing wrong in valid JSON, deep or odd', () => {
    for (const text of [
      '{}',
      ' [ ] ',
      '"\\u00e9\\n"',
      '-0.5e+10',
      '{"a":[true,false,null,{"b":"\\""}]}',
      '['.repeat(200) + ']'.repeat(200),
    ]) {
      assert.equal(findJsonSyntaxError(text), undefined, text);
      assert.doesNotThrow(() => parseJsonText(text, 'x'));
    }
  });

  it('ignores a UTF-8 byte order mark', () => {
    assert.deepEqual(parseJsonText('\ufeff{"a":1}', 'x'), { a: 1 });
  });
});
