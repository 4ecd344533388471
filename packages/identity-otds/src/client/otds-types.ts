/**
 * The OTDS objects as this package reads them: the REST API's users and groups reduced to what a connector needs.
 * OTDS answers with either an `attributes` map (`attrsAsKeys=true`, which the client asks for) or a `values` list of
 * `{ name, values }`; both land in {@link OtdsUser.attributes}.
 *
 * @see https://github.com/opentext/pyxecm (OpenText's own client, `otds.py`: `get_users`, `get_groups`)
 */

/** An OTDS user (`oTPerson`). */
export interface OtdsUser {
  /** The id OTDS addresses the user by in URLs, usually `name@partition`. */
  readonly id: string;
  /** The login name (`name`); the id when OTDS sent none. */
  readonly name: string;
  /** The user partition (`userPartitionID`). */
  readonly partition?: string;
  /** The entry's `uuid`. */
  readonly uuid?: string;
  /** Every attribute OTDS sent, each a list of strings (`mail`, `displayName`, `accountDisabled` …). */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** An OTDS group (`oTGroup`). */
export interface OtdsGroup {
  /** The id OTDS addresses the group by in URLs, usually `name@partition`. */
  readonly id: string;
  readonly name: string;
  readonly partition?: string;
  readonly uuid?: string;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** One page of a listing and the cookie for the next (`nextPageCookie`), absent on the last page. */
export interface OtdsPage<T> {
  readonly items: readonly T[];
  readonly nextPageCookie?: string;
}

/** The direct members of a group: users and groups nested in it. */
export interface OtdsMembers {
  readonly users: readonly OtdsUser[];
  readonly groups: readonly OtdsGroup[];
}

/** A change to a user's attributes: each named attribute is replaced by the given values (`[]` clears it). */
export type OtdsAttributeValues = Readonly<Record<string, readonly string[]>>;
