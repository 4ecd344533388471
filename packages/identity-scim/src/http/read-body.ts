import { ScimProblem } from './scim-error.js';

/**
 * Reads a JSON request body of at most `limit` bytes: a larger `Content-Length` is refused before reading, and a
 * stream without one is cut off once it passes the limit (413, RFC 7644 §3.12 and RFC 9110 §15.5.14).
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    throw new ScimProblem(413, `The body is larger than ${limit} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body !== null) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw new ScimProblem(413, `The body is larger than ${limit} bytes`);
      }
      chunks.push(value);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ScimProblem(400, `The body is not valid JSON: ${(error as Error).message}`, 'invalidSyntax');
  }
}
