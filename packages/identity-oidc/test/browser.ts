/**
 * Just enough of a browser for an authorization code round trip with plain `fetch`: one cookie jar per origin,
 * redirects followed by hand, and `oidc-provider`'s development login and consent forms submitted.
 */
export function createBrowser() {
  const jars = new Map<string, Map<string, string>>();

  function jar(url: URL) {
    const found = jars.get(url.origin) ?? new Map<string, string>();
    jars.set(url.origin, found);
    return found;
  }

  /** Keeps the response's cookies for `url`'s origin (a `Max-Age=0` or past `Expires` removes one). */
  function remember(url: URL, response: Response) {
    const cookies = jar(url);
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (gone) cookies.delete(name);
      else cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  function cookieHeader(url: URL): string {
    return [...jar(url)].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** A request to `url` carrying this browser's cookies for its origin. */
  function request(url: string | URL, init: RequestInit = {}): Request {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = cookieHeader(target);
    if (cookie) headers.set('cookie', cookie);
    return new Request(target, { ...init, headers, redirect: 'manual' });
  }

  /**
   * Follows redirects from `url` over the network until one leaves for `stopAt` (the app's origin) and returns that
   * location, or until a page answers 200 (returned as `page`).
   */
  async function follow(url: string, stopAt: string): Promise<{ location?: string; page?: string; pageUrl: string }> {
    let current = url;
    for (let hops = 0; hops < 20; hops++) {
      if (current.startsWith(stopAt)) return { location: current, pageUrl: current };
      const target = new URL(current);
      const response = await fetch(request(target));
      remember(target, response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, target).href;
        continue;
      }
      return { page: await response.text(), pageUrl: current };
    }
    throw new Error('too many redirects');
  }

  /** Submits the page's first form with `fields` (plus its hidden inputs) and follows on like {@link follow}. */
  async function submit(page: { page?: string; pageUrl: string }, fields: Record<string, string>, stopAt: string) {
    const html = page.page ?? '';
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form on ${page.pageUrl}: ${html.slice(0, 200)}`);
    const form = new URLSearchParams();
    for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
      form.set(match[1] as string, match[2] as string);
    }
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    const target = new URL(action.replaceAll('&amp;', '&'), page.pageUrl);
    const response = await fetch(
      request(target, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      }),
    );
    remember(target, response);
    const location = response.headers.get('location');
    if (!location) return { page: await response.text(), pageUrl: target.href };
    return follow(new URL(location, target).href, stopAt);
  }

  return { remember, request, follow, submit, cookieHeader };
}

export type Browser = ReturnType<typeof createBrowser>;
