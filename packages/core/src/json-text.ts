/**
 * JSON read as text rather than as values: what PostgreSQL's jsonb would refuse in a document that
 * JSON.parse accepts, and the raw parts of an array or object (numbers and escapes exactly as written,
 * which a parse and re-stringify would change). Every function here expects text that JSON.parse has
 * already accepted.
 */

/**
 * The limits of PostgreSQL's numeric type, which jsonb stores every number in: digits before the
 * decimal point and digits after it (both measured against PostgreSQL 15, see tests/ingest/store-takes-what-readers-forward.test.ts).
 */
export const numericLimits = { integerDigits: 131_072, fractionDigits: 16_383 } as const;

const quote = 0x22;
const backslash = 0x5c;

function hex4(text: string, at: number): number {
  return Number.parseInt(text.slice(at, at + 4), 16);
}

/**
 * Why PostgreSQL's jsonb would refuse this JSON text, or undefined when it takes it: nesting deeper
 * than `maxDepth`, the escape \u0000, a UTF-16 surrogate escape that is not part of a pair, or a
 * number outside the numeric type's range. JSON.parse accepts all of these.
 */
export function jsonbRefusal(text: string, maxDepth: number): string | undefined {
  return mayBeRefused(text, maxDepth) ? scan(text, maxDepth) : undefined;
}

/**
 * A quick look with native searches (this runs for every event): only a text with a \u escape, a digit
 * before an e or E, more openings than `maxDepth`, or room for more digits than numeric's scale needs
 * the character-by-character scan.
 */
function mayBeRefused(text: string, maxDepth: number): boolean {
  if (text.length > numericLimits.fractionDigits || text.includes('\\u') || /\d[eE]/.test(text)) return true;
  let openings = 0;
  for (const bracket of ['[', '{']) {
    for (let at = text.indexOf(bracket); at !== -1; at = text.indexOf(bracket, at + 1)) {
      openings++;
      if (openings > maxDepth) return true;
    }
  }
  return false;
}

function scan(text: string, maxDepth: number): string | undefined {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      for (i++; i < length; i++) {
        const s = text.charCodeAt(i);
        if (s === quote) break;
        if (s !== backslash) continue;
        i++;
        if (text.charCodeAt(i) !== 0x75 /* u */) continue;
        const code = hex4(text, i + 1);
        i += 4;
        if (code === 0) return 'the escape \\u0000, which PostgreSQL cannot store in jsonb';
        if (code >= 0xdc00 && code <= 0xdfff) return `a lone UTF-16 low surrogate \\u${text.slice(i - 3, i + 1)}`;
        if (code >= 0xd800 && code <= 0xdbff) {
          const low =
            text.charCodeAt(i + 1) === backslash && text.charCodeAt(i + 2) === 0x75 ? hex4(text, i + 3) : Number.NaN;
          if (!(low >= 0xdc00 && low <= 0xdfff)) {
            return `a lone UTF-16 high surrogate \\u${text.slice(i - 3, i + 1)}`;
          }
          i += 6;
        }
      }
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > maxDepth) return `nesting deeper than ${maxDepth} levels`;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < length && isNumberChar(text.charCodeAt(end))) end++;
      const refusal = numericRefusal(text.slice(i, end));
      if (refusal) return refusal;
      i = end - 1;
    }
  }
  return undefined;
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** Why PostgreSQL's numeric cannot hold this JSON number, or undefined. */
function numericRefusal(number: string): string | undefined {
  const match = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(number) as RegExpExecArray;
  const integer = match[1] as string;
  const fraction = match[2] ?? '';
  const exponentText = match[3] ?? '0';
  const shown = number.length > 40 ? `${number.slice(0, 20)}…(${number.length} characters)` : number;
  // Past nine digits the exponent alone is out of range (PostgreSQL refuses it before looking further).
  if (exponentText.replace(/^[+-]?0*/, '').length > 9)
    return `the number ${shown} is outside PostgreSQL's numeric range`;
  const exponent = Number(exponentText);
  const fractionDigits = Math.max(0, fraction.length - exponent);
  const digits = integer + fraction;
  const first = digits.search(/[1-9]/);
  const integerDigits = first === -1 ? 0 : integer.length - first + exponent;
  if (fractionDigits > numericLimits.fractionDigits || integerDigits > numericLimits.integerDigits) {
    return `the number ${shown} is outside PostgreSQL's numeric range (at most ${numericLimits.integerDigits} digits before the decimal point and ${numericLimits.fractionDigits} after)`;
  }
  return undefined;
}

/** The end (exclusive) of the JSON value that starts at `start`, skipping strings and nested values. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === quote) {
      for (i++; text.charCodeAt(i) !== quote; i++) if (text.charCodeAt(i) === backslash) i++;
      if (depth === 0) return i + 1;
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0 && (c === 0x2c || c === 0x3a || c <= 0x20)) return i;
  }
  return text.length;
}

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
  return i;
}

/** The raw texts of the elements of a JSON array text. */
export function jsonArrayElements(text: string): string[] {
  const elements: string[] = [];
  let i = skipSpace(text, text.indexOf('[') + 1);
  while (i < text.length && text[i] !== ']') {
    const end = valueEnd(text, i);
    elements.push(text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return elements;
}

/** The members of a JSON object text: each key (decoded) with the raw text of its value. */
export function jsonObjectMembers(text: string): Map<string, string> {
  const members = new Map<string, string>();
  let i = skipSpace(text, text.indexOf('{') + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = valueEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1);
    const end = valueEnd(text, valueStart);
    members.set(key, text.slice(valueStart, end));
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return members;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what PostgreSQL's text refuses.
const unstorableCharacters = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Whether PostgreSQL's text can store this string as it is: no NUL, no lone UTF-16 surrogate. */
export function isStorableText(text: string): boolean {
  unstorableCharacters.lastIndex = 0;
  return !unstorableCharacters.test(text);
}

/** The string with NUL and lone UTF-16 surrogates replaced by U+FFFD, which PostgreSQL's text takes. */
export function storableText(text: string): string {
  return text.replace(unstorableCharacters, '\uFFFD');
}
