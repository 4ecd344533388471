import { ScimProblem } from '../http/scim-error.js';

/**
 * A parser for the filter grammar of RFC 7644 §3.4.2.2: attribute expressions with `eq ne co sw ew gt ge lt le pr`,
 * `and`/`or`/`not`, parentheses and value paths (`emails[type eq "work" and value co "@example.com"]`). Precedence
 * is `not` > `and` > `or`; operators and keywords compare without case. Hostile input is bounded: the text length,
 * the nesting depth and the number of expressions are limited, and every failure is a 400 `invalidFilter`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.4.2.2
 */

/** The comparison operators of RFC 7644 Table 3. */
export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A literal of a comparison (`compValue`). */
export type CompareValue = string | number | boolean | null;

/** A parsed filter. */
export type FilterNode =
  | { kind: 'compare'; path: string; operator: CompareOperator; value: CompareValue }
  | { kind: 'present'; path: string }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; filter: FilterNode }
  | { kind: 'valuePath'; path: string; filter: FilterNode };

/** Bounds on what a filter may cost to parse and evaluate. */
export const FILTER_LIMITS = { length: 4096, depth: 16, expressions: 64 } as const;

const OPERATORS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

type Token =
  | { type: 'word'; text: string; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'number'; value: number; at: number }
  | { type: '(' | ')' | '[' | ']'; at: number }
  | { type: 'end'; at: number };

const WORD = /[A-Za-z_$][A-Za-z0-9_$.:-]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// A JSON string (RFC 8259 §7); control characters are refused after the match.
const STRING = /"(?:[^"\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/y;
const CONTROL = /[\p{Cc}]/u;

function fail(message: string): never {
  throw new ScimProblem(400, `Invalid filter: ${message}`, 'invalidFilter');
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < text.length) {
    const char = text[at] as string;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      at++;
      continue;
    }
    if (char === '(' || char === ')' || char === '[' || char === ']') {
      tokens.push({ type: char, at });
      at++;
      continue;
    }
    if (char === '"') {
      STRING.lastIndex = at;
      const match = STRING.exec(text);
      if (match === null || CONTROL.test(match[0])) fail(`unterminated or malformed string at ${at}`);
      tokens.push({ type: 'string', value: JSON.parse(match[0]) as string, at });
      at += match[0].length;
      continue;
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (number !== null) {
      tokens.push({ type: 'number', value: Number(number[0]), at });
      at += number[0].length;
      continue;
    }
    WORD.lastIndex = at;
    const word = WORD.exec(text);
    if (word === null) fail(`unexpected "${char}" at ${at}`);
    tokens.push({ type: 'word', text: word[0], at });
    at += word[0].length;
  }
  tokens.push({ type: 'end', at });
  return tokens;
}

class Parser {
  private index = 0;
  private expressions = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): FilterNode {
    const node = this.or(0, false);
    const next = this.peek();
    if (next.type !== 'end') fail(`unexpected ${describe(next)} at ${next.at}`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.index++;
    return token;
  }

  private keyword(name: string): boolean {
    const token = this.peek();
    if (token.type === 'word' && token.text.toLowerCase() === name) {
      this.index++;
      return true;
    }
    return false;
  }

  private or(depth: number, inValuePath: boolean): FilterNode {
    let left = this.and(depth, inValuePath);
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and(depth, inValuePath) };
    return left;
  }

  private and(depth: number, inValuePath: boolean): FilterNode {
    let left = this.unary(depth, inValuePath);
    while (this.keyword('and')) left = { kind: 'and', left, right: this.unary(depth, inValuePath) };
    return left;
  }

  private unary(depth: number, inValuePath: boolean): FilterNode {
    if (depth > FILTER_LIMITS.depth) fail(`nested deeper than ${FILTER_LIMITS.depth} levels`);
    const token = this.peek();
    if (token.type === 'word' && token.text.toLowerCase() === 'not') {
      this.index++;
      if (this.peek().type !== '(') fail(`"not" must be followed by "(" at ${this.peek().at}`);
      return { kind: 'not', filter: this.group(depth + 1, inValuePath) };
    }
    if (token.type === '(') return this.group(depth + 1, inValuePath);
    return this.expression(depth, inValuePath);
  }

  private group(depth: number, inValuePath: boolean): FilterNode {
    this.next(); // "("
    const inner = this.or(depth, inValuePath);
    const close = this.next();
    if (close.type !== ')') fail(`expected ")" at ${close.at}, found ${describe(close)}`);
    return inner;
  }

  private expression(depth: number, inValuePath: boolean): FilterNode {
    const token = this.next();
    if (token.type !== 'word') fail(`expected an attribute at ${token.at}, found ${describe(token)}`);
    if (++this.expressions > FILTER_LIMITS.expressions) fail(`more than ${FILTER_LIMITS.expressions} expressions`);
    const path = token.text;
    if (this.peek().type === '[') {
      if (inValuePath) fail(`value paths cannot nest (at ${this.peek().at})`);
      this.next();
      const filter = this.or(depth + 1, true);
      const close = this.next();
      if (close.type !== ']') fail(`expected "]" at ${close.at}, found ${describe(close)}`);
      return { kind: 'valuePath', path, filter };
    }
    const operator = this.next();
    if (operator.type !== 'word') fail(`expected an operator after "${path}" at ${operator.at}`);
    const name = operator.text.toLowerCase();
    if (name === 'pr') return { kind: 'present', path };
    if (!OPERATORS.has(name)) fail(`unknown operator "${operator.text}" at ${operator.at}`);
    const literal = this.next();
    let value: CompareValue;
    if (literal.type === 'string' || literal.type === 'number') value = literal.value;
    else if (literal.type === 'word' && /^(true|false|null)$/i.test(literal.text)) {
      const lower = literal.text.toLowerCase();
      value = lower === 'null' ? null : lower === 'true';
    } else fail(`expected a value after "${path} ${operator.text}" at ${literal.at}`);
    return { kind: 'compare', path, operator: name as CompareOperator, value };
  }
}

function describe(token: Token): string {
  if (token.type === 'end') return 'the end';
  if (token.type === 'word') return `"${token.text.slice(0, 64)}"`;
  if (token.type === 'string') return 'a string';
  if (token.type === 'number') return 'a number';
  return `"${token.type}"`;
}

/**
 * Parses a SCIM filter.
 *
 * @throws {ScimProblem} 400 `invalidFilter` for a syntax error or a filter beyond {@link FILTER_LIMITS}.
 */
export function parseFilter(text: string): FilterNode {
  if (text.length > FILTER_LIMITS.length) fail(`longer than ${FILTER_LIMITS.length} characters`);
  if (text.trim() === '') fail('empty');
  return new Parser(tokenize(text)).parse();
}
