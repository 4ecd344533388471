import { describe, expect, it } from 'vitest';
import { integerArray, textArray } from './array-literal.js';

describe('array literals', () => {
  it('quotes every element and escapes only quotes and backslashes', () => {
    expect(textArray(['a', 'b c', '', 'NULL', '{x,y}'])).toBe('{"a","b c","","NULL","{x,y}"}');
    expect(textArray(['say "hi"', 'C:\\dir'])).toBe('{"say \\"hi\\"","C:\\\\dir"}');
    expect(textArray([])).toBe('{}');
  });

  it('writes SQL NULL for null, unquoted, so it never reads as the string "NULL"', () => {
    expect(textArray([null, 'NULL', null])).toBe('{NULL,"NULL",NULL}');
    expect(integerArray([1, null, '42'])).toBe('{1,NULL,42}');
  });

  it('writes integers bare', () => {
    expect(integerArray([1, -2, 1_767_225_600_000])).toBe('{1,-2,1767225600000}');
  });
});
