import { deepLinkSchemes, IdrelayError, isDeepLink, type PushAction, type PushMessage } from '@idrelay/core';
import { readPath } from '../shared/read-path.js';
import { readsSecret } from './secrets.js';

/** A value a template may interpolate, read from the render context by path. */
export interface TemplateField {
  /** Dotted path into the event (`data.resource.name`) or digest (`digest.count`). */
  path: string;
  /**
   * May appear in visible text (title, subtitle, body), which shows on lock screens. Mark only what is harmless
   * to a bystander; everything else stays in the app, fetched over an authenticated call.
   */
  lockScreenSafe?: boolean;
  /** Used when the path has no value. */
  fallback?: string;
  /** Longer values are cut with an ellipsis. Default 120. */
  maxLength?: number;
}

/**
 * A notification template for one key (an event type, or a custom key a rule names) and one locale.
 * Text uses `{{field}}` placeholders naming entries of `fields`.
 *
 * @example
 * ```ts
 * const t: TemplateDefinition = {
 *   key: 'idrelay.access.requested',
 *   locale: 'de',
 *   fields: { resource: { path: 'data.resource.name', lockScreenSafe: true, fallback: 'eine Ressource' } },
 *   title: 'Zugriffsanfrage',
 *   body: 'Bitte entscheiden: {{resource}}',
 *   actions: [{ id: 'approve', title: 'Genehmigen', authenticationRequired: true }],
 *   platform: { apns: { category: 'ACCESS_REQUEST' }, fcm: { channelId: 'approvals' } },
 * };
 * ```
 */
export interface TemplateDefinition {
  key: string;
  /** BCP 47 tag (`de-CH`) or `default`. Default `default`. */
  locale?: string;
  fields?: Readonly<Record<string, TemplateField>>;
  title: string;
  subtitle?: string;
  body?: string;
  /** App data (string values); may interpolate any field, and should carry references, not content. */
  data?: Readonly<Record<string, string>>;
  /**
   * Deep link the app opens on tap (a password change page, the recertification to complete), e.g. `'{{link}}'`
   * with a field reading `data.url`, or `'myapp://requests/{{request}}'`. A link that is one placeholder is used as
   * the value reads; placeholders inside a longer link are percent-encoded. The rendered link is sent only when it
   * is an `https:` URL or uses an app scheme allowed by `linkSchemes` ({@link DefineTemplateOptions}); otherwise,
   * or when a field it names has no value, the push goes without a link. Fields are never cut to `maxLength` here.
   */
  url?: string;
  threadId?: string;
  actions?: readonly PushAction[];
  sound?: string;
  ttlSeconds?: number;
  platform?: {
    apns?: { category?: string; interruptionLevel?: PushMessage['interruptionLevel'] };
    fcm?: { channelId?: string };
    webpush?: { requireInteraction?: boolean; icon?: string; url?: string };
  };
}

/** Options of {@link defineTemplate}. */
export interface DefineTemplateOptions {
  /** App schemes allowed in deep links besides `https` (`['myapp']`); `javascript`, `data`, `http` … never are. */
  linkSchemes?: readonly string[];
}

/** A template checked and split into parts once, so rendering is string concatenation. */
export interface CompiledTemplate {
  readonly key: string;
  readonly locale: string;
  /** Renders the message parts that depend on the template (not id, urgency or collapse id). */
  render(context: unknown): Omit<PushMessage, 'id' | 'urgency'>;
}

type Part = string | { field: string };
const PLACEHOLDER = /\{\{\s*([\w-]+)\s*\}\}/g;

function parse(text: string, template: TemplateDefinition, where: string, visible: boolean): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    const field = template.fields?.[name];
    if (!field) {
      throw new IdrelayError(
        'ERR_TEMPLATE_INVALID',
        `Template ${template.key}: ${where} uses unknown field "${name}"`,
        {
          details: { key: template.key, field: name },
        },
      );
    }
    if (visible && !field.lockScreenSafe) {
      throw new IdrelayError(
        'ERR_TEMPLATE_UNSAFE',
        `Template ${template.key}: ${where} shows "${name}", which is not marked lockScreenSafe`,
        { details: { key: template.key, field: name, where } },
      );
    }
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push({ field: name });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** The untruncated text of a field, or undefined when it has no value (a link must not fall back or be cut). */
function rawValue(field: TemplateField, context: unknown): string | undefined {
  const value = readPath(context, field.path);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function fieldValue(field: TemplateField, context: unknown): string {
  const value = readPath(context, field.path);
  const text = value === undefined || value === null || value === '' ? (field.fallback ?? '') : String(value);
  const max = field.maxLength ?? 120;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Checks a template and compiles it. Placeholders in visible text must name lock-screen-safe fields, and no field
 * may read a secret of the event type the template is keyed by (the number-matching code). Whatever the key, a
 * template renders against the event without its secrets, so a custom template cannot leak one either.
 *
 * @throws {IdrelayError} `ERR_TEMPLATE_UNSAFE` when visible text uses a field not marked `lockScreenSafe`, or a
 * field reads a secret;
 * `ERR_TEMPLATE_INVALID` for unknown fields, a missing key or title, or a fixed `url` that is not a safe deep link;
 * `ERR_INVALID_ARGUMENT` for a malformed or unsafe `linkSchemes` entry.
 * @example
 * ```ts
 * const compiled = defineTemplate({ key: 'idrelay.account.locked', title: 'Your account was locked' });
 * compiled.render(event).title; // 'Your account was locked'
 * ```
 */
export function defineTemplate(template: TemplateDefinition, options: DefineTemplateOptions = {}): CompiledTemplate {
  if (typeof template?.key !== 'string' || template.key.length === 0 || typeof template.title !== 'string') {
    throw new IdrelayError('ERR_TEMPLATE_INVALID', 'A template needs a key and a title', { details: {} });
  }
  const fields = template.fields ?? {};
  for (const [name, field] of Object.entries(fields)) {
    // Rendering never sees secrets (they are removed from the event first); naming one is a mistake to flag early.
    if (readsSecret(template.key, field.path)) {
      throw new IdrelayError(
        'ERR_TEMPLATE_UNSAFE',
        `Template ${template.key}: field "${name}" reads ${field.path}, a secret that never goes into a push`,
        { details: { key: template.key, field: name, path: field.path } },
      );
    }
  }
  const title = parse(template.title, template, 'title', true);
  const subtitle = template.subtitle === undefined ? undefined : parse(template.subtitle, template, 'subtitle', true);
  const body = template.body === undefined ? undefined : parse(template.body, template, 'body', true);
  const threadId = template.threadId === undefined ? undefined : parse(template.threadId, template, 'threadId', false);
  const data = Object.entries(template.data ?? {}).map(
    ([name, text]) => [name, parse(text, template, `data.${name}`, false)] as const,
  );
  const join = (parts: Part[], context: unknown) =>
    parts.map((part) => (typeof part === 'string' ? part : fieldValue(fields[part.field]!, context))).join('');
  const link = template.url === undefined ? undefined : compileLink(template, fields, options);
  const { apns, fcm, webpush } = template.platform ?? {};
  const locale = template.locale ?? 'default';
  return {
    key: template.key,
    locale,
    render(context) {
      const message: Omit<PushMessage, 'id' | 'urgency'> = { title: join(title, context) };
      if (subtitle) message.subtitle = join(subtitle, context);
      if (body) message.body = join(body, context);
      if (threadId) message.threadId = join(threadId, context);
      if (data.length > 0) message.data = Object.fromEntries(data.map(([name, parts]) => [name, join(parts, context)]));
      const url = link?.(context);
      if (url !== undefined) message.url = url;
      if (template.actions) message.actions = template.actions;
      if (apns?.category) message.category = apns.category;
      if (apns?.interruptionLevel) message.interruptionLevel = apns.interruptionLevel;
      if (template.sound) message.sound = template.sound;
      if (template.ttlSeconds !== undefined) message.ttlSeconds = template.ttlSeconds;
      const platform: NonNullable<PushMessage['platform']> = {};
      if (fcm?.channelId) platform.fcm = { channelId: fcm.channelId };
      if (webpush) platform.webpush = { ...webpush };
      if (platform.fcm || platform.webpush) message.platform = platform;
      return message;
    },
  };
}

/**
 * Compiles a template's deep link into a function of the render context that returns the link, or undefined when
 * a field has no value or the result is not a safe deep link (a `javascript:` URL in an event never reaches a push).
 */
function compileLink(
  template: TemplateDefinition,
  fields: Readonly<Record<string, TemplateField>>,
  options: DefineTemplateOptions,
): (context: unknown) => string | undefined {
  const schemes = deepLinkSchemes(options.linkSchemes ?? []);
  const parts = parse(template.url!, template, 'url', false);
  const whole = parts.length === 1 && typeof parts[0] !== 'string' ? parts[0]!.field : undefined;
  if (parts.every((part) => typeof part === 'string') && !isDeepLink(template.url, { schemes })) {
    throw new IdrelayError(
      'ERR_TEMPLATE_INVALID',
      `Template ${template.key}: url ${JSON.stringify(template.url)} is not an https: link or an allowed app scheme`,
      { details: { key: template.key, url: template.url, schemes } },
    );
  }
  return (context) => {
    let url = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        url += part;
        continue;
      }
      const value = rawValue(fields[part.field]!, context);
      if (value === undefined) return undefined;
      url += whole === undefined ? encodeURIComponent(value) : value;
    }
    return isDeepLink(url, { schemes }) ? url : undefined;
  };
}
