import { readPath } from '../shared/read-path.js';

/**
 * Fills `{{path}}` references in a short string (collapse ids, digest keys) from the event; absent values become
 * empty strings.
 *
 * @example
 * ```ts
 * fillText('access:{{data.requestId}}', event); // 'access:req-7'
 * ```
 */
export function fillText(text: string, context: unknown): string {
  return text.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_match, path: string) => {
    const value = readPath(context, path);
    return value === undefined || value === null ? '' : String(value);
  });
}
