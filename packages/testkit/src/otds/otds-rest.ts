import { HttpResponse } from 'msw';
import { errorResponse, groupJson, matchesFilter, page, userJson } from './otds-json.js';
import type { OtdsMockGroup, OtdsMockState, OtdsMockUser } from './otds-state.js';

/** The REST routes of the in-memory OTDS, after authentication: `(method, segments after /rest, query, body)`. */
export type OtdsRestRoutes = (method: string, segments: string[], query: URLSearchParams, text: string) => Response;

/** Creates the routes over `state`, serving pages of at most `maxPage` entries. */
export function createOtdsRestRoutes(state: OtdsMockState, maxPage: number): OtdsRestRoutes {
  const error = errorResponse;

  function readStringList(text: string): string[] | undefined {
    try {
      const body = JSON.parse(text) as { stringList?: unknown };
      if (Array.isArray(body.stringList) && body.stringList.every((item) => typeof item === 'string')) {
        return body.stringList as string[];
      }
    } catch {}
    return undefined;
  }

  function rest(method: string, segments: string[], query: URLSearchParams, text: string) {
    const asKeys = query.get('attrsAsKeys') === 'true';
    const filter = query.get('where_filter');
    const partition = query.get('where_partition_name');
    const [collection, id, sub, extra] = segments;
    if (extra !== undefined) return error(404, 'Not found');
    if (collection === 'users' && id === undefined && method === 'GET') {
      const matching = [...state.users.values()].filter(
        (user) =>
          (partition === null || user.partition === partition) &&
          matchesFilter(filter, user.id, user.name, user.attributes),
      );
      const result = page(matching, query, maxPage, `users:${filter}:${partition}`);
      if (result === undefined) return error(400, 'Invalid next_page_cookie');
      return HttpResponse.json({
        users: result.slice.map((user) => userJson(user, asKeys)),
        nextPageCookie: result.next,
        requestedPageSize: result.requested,
        actualPageSize: result.slice.length,
      } as never);
    }
    if (collection === 'groups' && id === undefined && method === 'GET') {
      const matching = [...state.groups.values()].filter(
        (group) =>
          (partition === null || group.partition === partition) &&
          matchesFilter(filter, group.id, group.name, group.attributes),
      );
      const result = page(matching, query, maxPage, `groups:${filter}:${partition}`);
      if (result === undefined) return error(400, 'Invalid next_page_cookie');
      return HttpResponse.json({
        groups: result.slice.map((group) => groupJson(group, asKeys)),
        nextPageCookie: result.next,
        requestedPageSize: result.requested,
        actualPageSize: result.slice.length,
      } as never);
    }
    if (collection === 'users' && id !== undefined) {
      const user = state.users.get(id);
      if (user === undefined) return error(404, `User ${id} not found`);
      if (sub === undefined && method === 'GET') return HttpResponse.json(userJson(user, asKeys) as never);
      if (sub === undefined && method === 'PATCH') {
        let body: { values?: unknown };
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          return error(400, 'Malformed JSON');
        }
        if (!Array.isArray(body.values)) return error(400, 'values must be a list');
        for (const entry of body.values as { name?: unknown; values?: unknown }[]) {
          if (typeof entry?.name !== 'string' || !Array.isArray(entry.values)) return error(400, 'Malformed value');
          if (!entry.values.every((value) => typeof value === 'string')) return error(400, 'Malformed value');
        }
        for (const entry of body.values as { name: string; values: string[] }[]) {
          state.setAttribute(id, entry.name, entry.values);
        }
        return HttpResponse.json(userJson(user, asKeys) as never);
      }
      if (sub === 'memberof' && method === 'GET') {
        const groups = state.groupsOfUser(id).map((groupId) => state.groups.get(groupId) as OtdsMockGroup);
        const result = page(groups, query, maxPage, `memberof:user:${id}`);
        if (result === undefined) return error(400, 'Invalid next_page_cookie');
        return HttpResponse.json({
          groups: result.slice.map((group) => groupJson(group, asKeys)),
          nextPageCookie: result.next,
          requestedPageSize: result.requested,
          actualPageSize: result.slice.length,
        } as never);
      }
      if (sub === 'memberof' && (method === 'POST' || method === 'DELETE')) {
        const list = readStringList(text);
        if (list === undefined) return error(400, 'stringList must be a list of group ids');
        const unknown = list.find((groupId) => !state.groups.has(groupId));
        if (unknown !== undefined) return error(404, `Group ${unknown} not found`);
        for (const groupId of list) {
          if (method === 'POST') state.addMember(groupId, id);
          else state.removeMember(groupId, id);
        }
        return new HttpResponse(null, { status: 204 });
      }
      return error(405, 'Method not allowed');
    }
    if (collection === 'groups' && id !== undefined) {
      const group = state.groups.get(id);
      if (group === undefined) return error(404, `Group ${id} not found`);
      if (sub === undefined && method === 'GET') return HttpResponse.json(groupJson(group, asKeys) as never);
      if (sub === 'members' && method === 'GET') {
        const entries: ({ user: OtdsMockUser } | { group: OtdsMockGroup })[] = [
          ...[...group.members].flatMap((userId) => {
            const user = state.users.get(userId);
            return user === undefined ? [] : [{ user }];
          }),
          ...[...group.groups].flatMap((groupId) => {
            const child = state.groups.get(groupId);
            return child === undefined ? [] : [{ group: child }];
          }),
        ];
        const result = page(entries, query, maxPage, `members:${id}`);
        if (result === undefined) return error(400, 'Invalid next_page_cookie');
        return HttpResponse.json({
          users: result.slice.flatMap((entry) => ('user' in entry ? [userJson(entry.user, asKeys)] : [])),
          groups: result.slice.flatMap((entry) => ('group' in entry ? [groupJson(entry.group, asKeys)] : [])),
          nextPageCookie: result.next,
          requestedPageSize: result.requested,
          actualPageSize: result.slice.length,
        } as never);
      }
      if (sub === 'memberof' && method === 'GET') {
        const parents = state.parentsOfGroup(id).map((groupId) => state.groups.get(groupId) as OtdsMockGroup);
        const result = page(parents, query, maxPage, `memberof:group:${id}`);
        if (result === undefined) return error(400, 'Invalid next_page_cookie');
        return HttpResponse.json({
          groups: result.slice.map((parent) => groupJson(parent, asKeys)),
          nextPageCookie: result.next,
          requestedPageSize: result.requested,
          actualPageSize: result.slice.length,
        } as never);
      }
      return error(405, 'Method not allowed');
    }
    return error(404, 'Not found');
  }

  return rest;
}
