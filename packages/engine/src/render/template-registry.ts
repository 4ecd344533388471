import { deepLinkSchemes, IdrelayError } from '@idrelay/core';
import { defaultTemplates } from './default-templates.js';
import {
  type CompiledTemplate,
  type DefineTemplateOptions,
  defineTemplate,
  type TemplateDefinition,
} from './template.js';

/** Templates by key and locale, with locale fallback. */
export interface TemplateRegistry {
  /**
   * The template for `key` in `locale`, falling back along the tag (`de-CH` → `de`) and then to `default`.
   *
   * @throws {IdrelayError} `ERR_TEMPLATE_MISSING` when no locale of `key` exists.
   */
  get(key: string, locale?: string): CompiledTemplate;
  /** True when some locale of `key` exists. */
  has(key: string): boolean;
}

/** Options of {@link createTemplates}. */
export interface CreateTemplatesOptions extends DefineTemplateOptions {
  /** Start from the built-in English templates for every catalogue type (yours override them). Default true. */
  defaults?: boolean;
}

/**
 * The fallback chain of a BCP 47 tag, most specific first, ending in `default`.
 *
 * @example
 * ```ts
 * localeChain('de-CH'); // ['de-ch', 'de', 'default']
 * ```
 */
export function localeChain(locale: string | undefined): string[] {
  const chain: string[] = [];
  if (locale) {
    const parts = locale.toLowerCase().replace(/_/g, '-').split('-');
    for (let n = parts.length; n > 0; n--) chain.push(parts.slice(0, n).join('-'));
  }
  chain.push('default');
  return chain;
}

/**
 * Compiles templates into a registry (checking lock-screen safety once, at definition time).
 *
 * @throws {IdrelayError} `ERR_TEMPLATE_UNSAFE` / `ERR_TEMPLATE_INVALID` from {@link defineTemplate};
 * `ERR_INVALID_ARGUMENT` for a `linkSchemes` entry that is no scheme name or never safe (`javascript`, `http` …).
 * @example
 * ```ts
 * const templates = createTemplates([{ key: 'idrelay.account.locked', locale: 'de', title: 'Konto gesperrt' }]);
 * templates.get('idrelay.account.locked', 'de-CH').locale; // 'de'
 * ```
 */
export function createTemplates(
  definitions: readonly (TemplateDefinition | CompiledTemplate)[] = [],
  options: CreateTemplatesOptions = {},
): TemplateRegistry {
  deepLinkSchemes(options.linkSchemes ?? []);
  const byKey = new Map<string, Map<string, CompiledTemplate>>();
  const all = [...(options.defaults === false ? [] : defaultTemplates()), ...definitions];
  for (const definition of all) {
    const compiled = 'render' in definition ? definition : defineTemplate(definition, options);
    let locales = byKey.get(compiled.key);
    if (!locales) {
      locales = new Map();
      byKey.set(compiled.key, locales);
    }
    locales.set(compiled.locale.toLowerCase(), compiled);
  }
  const resolved = new Map<string, CompiledTemplate>();
  return {
    get(key, locale) {
      const cacheKey = `${key}\0${locale ?? ''}`;
      const cached = resolved.get(cacheKey);
      if (cached) return cached;
      const locales = byKey.get(key);
      for (const candidate of localeChain(locale)) {
        const found = locales?.get(candidate);
        if (found) {
          resolved.set(cacheKey, found);
          return found;
        }
      }
      throw new IdrelayError('ERR_TEMPLATE_MISSING', `No template for "${key}" (locale ${locale ?? 'default'})`, {
        details: { key, locale },
      });
    },
    has(key) {
      return byKey.has(key);
    },
  };
}
