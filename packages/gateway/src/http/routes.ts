import { z } from 'zod';
import type { Scope } from '../config/schema.js';
import { EVENT_MEDIA_TYPES } from './events-input.js';
import {
  actionBodySchema,
  cloudEventSchema,
  deliveriesQuerySchema,
  deliveryViewSchema,
  devicePatchSchema,
  deviceViewSchema,
  enrolBodySchema,
  enrolmentCodeBodySchema,
  eventsBodySchema,
  ingestAnswerSchema,
  objectSchema,
  pathParams,
  previewQuerySchema,
  verificationBodySchema,
} from './schemas.js';

/** How a route authenticates its caller. */
export type RouteAuth =
  /** Open: health, readiness, the API reference. */
  | { kind: 'none' }
  /** The device's signed proof (docs/protocol.md), checked by the engine. */
  | { kind: 'device' }
  /** A one-time enrolment code in the body, or `Authorization: Bearer` checked by the relay's `verifyBearer`. */
  | { kind: 'enrolment' }
  /** An API key (or, with `webhook`, a Standard Webhooks signature) holding one of `scopes`. */
  | { kind: 'scopes'; scopes: readonly Scope[]; webhook?: boolean };

/** One documented answer of a route. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

/**
 * One route: what validates it and what documents it, in one place. `createGateway` mounts these and
 * `/openapi.json` is built from them, so the document cannot list a route that does not exist or miss one.
 */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** OpenAPI-style path, `/v1/devices/{deviceId}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'events' | 'devices' | 'actions' | 'verifications' | 'inspection' | 'service';
  auth: RouteAuth;
  /** The JSON body, its media types, and which limit bounds it. */
  body?: { schema: z.ZodType; mediaTypes: readonly string[]; limit: 'events' | 'device' };
  query?: z.ZodType;
  /** Headers the route reads, documented as parameters. */
  headers?: readonly { name: string; description: string; required?: boolean }[];
  responses: Readonly<Record<number, RouteResponse>>;
  /** Problem statuses the route may answer (each an `application/problem+json` body). */
  problems: readonly number[];
}

const json = (description: string, schema: z.ZodType = objectSchema): RouteResponse => ({ description, schema });
const AUTH_PROBLEMS = [401, 403, 429] as const;

/** Every route the gateway serves (besides `/metrics`, mounted when metrics are given). */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'POST',
    path: '/v1/events',
    operationId: 'ingestEvents',
    summary: 'Ingest one CloudEvent or a batch',
    description:
      'Structured (`application/cloudevents+json`), batched (`application/cloudevents-batch+json`, at most 1000), plain `application/json` (an object or an array), or binary mode (`ce-*` headers with a JSON body). Idempotent by (source, id). A batch is validated whole before anything is stored: one invalid event refuses the batch (`index` names it). Authenticated by an API key with `ingest`, or a Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`).',
    tag: 'events',
    auth: { kind: 'scopes', scopes: ['ingest'], webhook: true },
    body: { schema: eventsBodySchema, mediaTypes: EVENT_MEDIA_TYPES, limit: 'events' },
    headers: [
      { name: 'webhook-id', description: 'Standard Webhooks message id (instead of an API key).' },
      { name: 'webhook-timestamp', description: 'Seconds since the epoch; within 5 minutes of the gateway.' },
      { name: 'webhook-signature', description: '`v1,<base64 HMAC-SHA256>`, space-separated if several.' },
      { name: 'ce-specversion', description: 'Binary mode: `1.0`, with `ce-id`, `ce-source`, `ce-type`, …' },
    ],
    responses: { 202: json('What each event planned, in order.', ingestAnswerSchema) },
    problems: [400, ...AUTH_PROBLEMS, 409, 413, 415],
  },
  {
    method: 'POST',
    path: '/v1/preview',
    operationId: 'previewEvent',
    summary: 'Who would get this event, on which device, and why — without sending',
    tag: 'events',
    auth: { kind: 'scopes', scopes: ['preview'] },
    body: { schema: cloudEventSchema, mediaTypes: ['application/json'], limit: 'events' },
    query: previewQuerySchema,
    responses: { 200: json('The rules trail and, per notification, recipients and devices.') },
    problems: [400, ...AUTH_PROBLEMS, 413, 415],
  },
  {
    method: 'POST',
    path: '/v1/devices/enrol',
    operationId: 'enrolDevice',
    summary: 'Enrol a device key (docs/protocol.md §2)',
    description:
      'Authenticated by the one-time `code` in the body, or by `Authorization: Bearer <token>` checked by the relay’s `verifyBearer`.',
    tag: 'devices',
    auth: { kind: 'enrolment' },
    body: { schema: enrolBodySchema, mediaTypes: ['application/json'], limit: 'device' },
    responses: { 201: json('The enrolled device; `replaced` when it was enrolled before.') },
    problems: [400, 401, 409, 413, 415],
  },
  {
    method: 'POST',
    path: '/v1/enrolment-codes',
    operationId: 'issueEnrolmentCode',
    summary: 'Issue a one-time enrolment code for a user',
    tag: 'devices',
    auth: { kind: 'scopes', scopes: ['admin'] },
    body: { schema: enrolmentCodeBodySchema, mediaTypes: ['application/json'], limit: 'device' },
    responses: { 201: json('`{ code, expiresAt }`: hand the code to the app as a link or QR code.') },
    problems: [400, ...AUTH_PROBLEMS, 413, 415],
  },
  {
    method: 'PATCH',
    path: '/v1/devices/{deviceId}',
    operationId: 'updateDevice',
    summary: 'Change a device: rotated token or subscription, name, key',
    tag: 'devices',
    auth: { kind: 'scopes', scopes: ['admin'] },
    body: { schema: devicePatchSchema, mediaTypes: ['application/json'], limit: 'device' },
    responses: { 200: json('The device.', deviceViewSchema) },
    problems: [400, ...AUTH_PROBLEMS, 404, 413, 415],
  },
  {
    method: 'DELETE',
    path: '/v1/devices/{deviceId}',
    operationId: 'unregisterDevice',
    summary: 'Unregister a device and revoke its unused action tokens',
    tag: 'devices',
    auth: { kind: 'scopes', scopes: ['admin'] },
    responses: { 204: { description: 'Unregistered.' } },
    problems: [...AUTH_PROBLEMS, 404],
  },
  {
    method: 'GET',
    path: '/v1/users/{userId}/devices',
    operationId: 'listUserDevices',
    summary: 'A user’s devices (without tokens or keys)',
    tag: 'devices',
    auth: { kind: 'scopes', scopes: ['admin'] },
    responses: { 200: json('The user’s devices.', z.object({ devices: z.array(deviceViewSchema) })) },
    problems: [...AUTH_PROBLEMS],
  },
  {
    method: 'GET',
    path: '/v1/notifications/{notificationId}/details',
    operationId: 'notificationDetails',
    summary: 'What the proven device may show about the request behind its push (docs/protocol.md §5)',
    tag: 'actions',
    auth: { kind: 'device' },
    headers: [
      { name: 'Idrelay-Token', description: 'The action token from the push.', required: true },
      { name: 'Idrelay-Proof', description: 'A proof with `htm: GET` and this URL as `htu`.', required: true },
    ],
    responses: { 200: json('The request’s details.') },
    problems: [400, 401, 403, 409, 410],
  },
  {
    method: 'POST',
    path: '/v1/actions',
    operationId: 'respond',
    summary: 'A device’s signed answer (docs/protocol.md §6)',
    tag: 'actions',
    auth: { kind: 'device' },
    body: { schema: actionBodySchema, mediaTypes: ['application/json'], limit: 'device' },
    responses: { 200: json('`{ status: "applied", notificationId, decision, flowId, state }`') },
    problems: [400, 401, 403, 409, 410, 413, 415, 422],
  },
  {
    method: 'POST',
    path: '/v1/verifications',
    operationId: 'startVerification',
    summary: 'Start a login verification (push with number matching)',
    description:
      'Show `code` on the sign-in screen; the user types it on the device. Poll `GET /v1/verifications/{id}`.',
    tag: 'verifications',
    auth: { kind: 'scopes', scopes: ['ingest', 'admin'] },
    body: { schema: verificationBodySchema, mediaTypes: ['application/json'], limit: 'device' },
    responses: { 201: json('`{ verificationId, code, expiresAt }`') },
    problems: [400, ...AUTH_PROBLEMS, 409, 413, 415],
  },
  {
    method: 'GET',
    path: '/v1/verifications/{verificationId}',
    operationId: 'getVerification',
    summary: 'A verification’s outcome, for the IAM system to poll',
    tag: 'verifications',
    auth: { kind: 'scopes', scopes: ['ingest', 'admin'] },
    responses: { 200: json('`{ verificationId, userId, status, expiresAt, decidedAt?, deviceId?, reported? }`') },
    problems: [...AUTH_PROBLEMS, 404],
  },
  {
    method: 'GET',
    path: '/v1/flows/{flowId}',
    operationId: 'getFlow',
    summary: 'An approval flow: state, step, approvers, decisions, trace',
    tag: 'inspection',
    auth: { kind: 'scopes', scopes: ['ingest', 'admin'] },
    responses: { 200: json('The flow.') },
    problems: [...AUTH_PROBLEMS, 404],
  },
  {
    method: 'GET',
    path: '/v1/deliveries',
    operationId: 'listDeliveries',
    summary: 'Per-device status and attempts of an event’s deliveries',
    tag: 'inspection',
    auth: { kind: 'scopes', scopes: ['ingest', 'admin'] },
    query: deliveriesQuerySchema,
    responses: {
      200: json(
        'The event key and its deliveries.',
        z.object({
          eventKey: z.string(),
          total: z.int(),
          truncated: z.boolean().meta({ description: 'More than 1,000 deliveries: the first 1,000 are listed.' }),
          deliveries: z.array(deliveryViewSchema),
        }),
      ),
    },
    problems: [400, ...AUTH_PROBLEMS, 404],
  },
  {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    summary: 'The process is up',
    tag: 'service',
    auth: { kind: 'none' },
    responses: { 200: json('`{ status: "ok" }`') },
    problems: [],
  },
  {
    method: 'GET',
    path: '/readyz',
    operationId: 'ready',
    summary: 'The store answers and the transports are ready',
    tag: 'service',
    auth: { kind: 'none' },
    responses: { 200: json('`{ status: "ready", checks }`'), 503: json('`{ status: "unavailable", checks }`') },
    problems: [],
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tag: 'service',
    auth: { kind: 'none' },
    responses: { 200: json('OpenAPI 3.1') },
    problems: [],
  },
  {
    method: 'GET',
    path: '/docs',
    operationId: 'docs',
    summary: 'The API reference, rendered',
    tag: 'service',
    auth: { kind: 'none' },
    responses: { 200: { description: 'HTML', contentType: 'text/html' } },
    problems: [],
  },
];

/** The path parameters a route path names, with their schemas. */
export function routeParams(path: string): { name: keyof typeof pathParams; schema: z.ZodType }[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => {
    const name = m[1] as keyof typeof pathParams;
    return { name, schema: pathParams[name] };
  });
}

/** A route for `/metrics`, listed in the document when metrics are mounted. */
export const METRICS_ROUTE: RouteSpec = {
  method: 'GET',
  path: '/metrics',
  operationId: 'metrics',
  summary: 'Prometheus metrics',
  tag: 'service',
  auth: { kind: 'none' },
  responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
  problems: [],
};
