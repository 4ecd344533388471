import { type DeviceRecord, eventKey, IdrelayError, isIdrelayError, type Store } from '@idrelay/core';
import { safeParseEvent } from '@idrelay/core/events';
import type { EnrolmentRequest, IngestResult, Relay } from '@idrelay/engine';
import { httpError } from './http-errors.js';
import type { RateLimiter } from './rate-limit.js';
import {
  deliveriesQuerySchema,
  devicePatchSchema,
  enrolBodySchema,
  enrolmentCodeBodySchema,
  previewQuerySchema,
  verificationBodySchema,
} from './schemas.js';
import { validate } from './validate.js';

/** Deliveries `GET /v1/deliveries` lists at most; `total` and `truncated` tell the rest. */
export const MAX_LISTED_DELIVERIES = 1000;

/** What a route handler gets: the request, its path parameters, its parsed JSON body (if any). */
export interface RouteInput {
  request: Request;
  params: Readonly<Record<string, string>>;
  body: unknown;
  /** The raw body, for routes that forward it. */
  raw: Uint8Array | undefined;
}

/** What the handlers need. */
export interface HandlerDeps {
  relay: Relay;
  store: Store;
  verificationLimiter: RateLimiter;
}

/** A JSON answer that is never cached: answers carry codes, states and ids bound to one caller. */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
}

/** A device without its push address or key material. */
export function deviceView(device: DeviceRecord) {
  return {
    deviceId: device.deviceId,
    userId: device.userId,
    platform: device.platform,
    ...(device.name === undefined ? {} : { name: device.name }),
    ...(device.keyAlgorithm === undefined ? {} : { keyAlgorithm: device.keyAlgorithm }),
    enrolled: device.publicKey !== undefined,
    createdAt: device.createdAt,
    updatedAt: device.updatedAt,
  };
}

function summarise(input: unknown, result: IngestResult) {
  const { id, source } = input as { id: string; source: string };
  return {
    id,
    source,
    eventKey: result.eventKey,
    status: result.resumed ? 'resumed' : result.duplicate ? 'duplicate' : 'planned',
    deliveries: result.deliveries,
    notifications: result.notifications.map((n) => ({
      notificationId: n.notificationId,
      ruleId: n.ruleId,
      category: n.category,
      recipients: n.recipients,
      deliveries: n.deliveries,
      deferred: n.deferred,
      suppressed: n.suppressed,
    })),
  };
}

/** Route handlers by operation id (the routes' auth, limits and bodies are handled before they run). */
export function createHandlers(deps: HandlerDeps) {
  const { relay, store } = deps;

  return {
    /**
     * Every event of a batch is validated before any is stored, so an invalid one refuses the batch whole; the
     * invalid event itself goes through `relay.ingest` so it is recorded as rejected and audited like any other.
     */
    async ingestEvents(events: readonly unknown[], batch: boolean): Promise<Response> {
      if (batch) {
        for (const [index, event] of events.entries()) {
          if (safeParseEvent(event).success) continue;
          try {
            await relay.ingest(event);
          } catch (error) {
            if (!isIdrelayError(error)) throw error;
            const details = { ...((error.details ?? {}) as Record<string, unknown>), index };
            throw new IdrelayError(error.code, `Event ${index} of the batch: ${error.message}`, {
              details,
              cause: error,
            });
          }
        }
      }
      const results = [];
      for (const [index, event] of events.entries()) {
        const result = await relay.ingest(event);
        if (result.conflict) {
          const { id, source } = event as { id: string; source: string };
          throw httpError(
            'ERR_EVENT_CONFLICT',
            `An event with source ${source} and id ${id} was ingested before with another payload; the first one stands`,
            batch ? { index, eventKey: result.eventKey } : { eventKey: result.eventKey },
          );
        }
        results.push(summarise(event, result));
      }
      return jsonResponse({ results }, 202);
    },

    async previewEvent({ request, body }: RouteInput): Promise<Response> {
      const query = validate(
        previewQuerySchema,
        Object.fromEntries(new URL(request.url).searchParams),
        'ERR_HTTP_INVALID_REQUEST',
      );
      return jsonResponse(await relay.preview(body, query.limit === undefined ? {} : { limit: query.limit }));
    },

    async enrolDevice({ request, body }: RouteInput): Promise<Response> {
      const enrolment = validate(enrolBodySchema, body, 'ERR_ENROL_INVALID');
      const authorization = request.headers.get('authorization');
      let bearer: string | undefined;
      if (authorization !== null) {
        const match = /^Bearer (\S{1,4096})$/.exec(authorization);
        if (!match) throw httpError('ERR_AUTH_INVALID', 'Authorization must be Bearer <token>');
        bearer = match[1];
      }
      if ((bearer === undefined) === (enrolment.code === undefined)) {
        throw httpError('ERR_HTTP_INVALID_REQUEST', 'An enrolment carries either a code or a bearer token, not both');
      }
      const request_ = (bearer === undefined ? enrolment : { ...enrolment, bearer }) as EnrolmentRequest;
      const { device, replaced } = await relay.devices.enrol(request_);
      return jsonResponse({ device: deviceView(device), replaced }, 201);
    },

    async issueEnrolmentCode({ body }: RouteInput): Promise<Response> {
      const { userId, ttlMs } = validate(enrolmentCodeBodySchema, body, 'ERR_ENROL_INVALID');
      return jsonResponse(await relay.devices.issueEnrolmentCode(userId, ttlMs === undefined ? {} : { ttlMs }), 201);
    },

    async updateDevice({ params, body }: RouteInput): Promise<Response> {
      const patch = validate(devicePatchSchema, body, 'ERR_DEVICE_INVALID');
      const deviceId = params.deviceId as string;
      if ((await store.devices.get(deviceId)) === undefined) {
        throw httpError('ERR_DEVICE_NOT_FOUND', `Device ${deviceId} is not registered`);
      }
      return jsonResponse(deviceView(await relay.devices.update(deviceId, patch)));
    },

    async unregisterDevice({ params }: RouteInput): Promise<Response> {
      const deviceId = params.deviceId as string;
      if (!(await relay.devices.unregister(deviceId))) {
        throw httpError('ERR_DEVICE_NOT_FOUND', `Device ${deviceId} is not registered`);
      }
      return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
    },

    async listUserDevices({ params }: RouteInput): Promise<Response> {
      const devices = await relay.devices.list(params.userId as string);
      return jsonResponse({ devices: devices.map(deviceView) });
    },

    async startVerification({ body }: RouteInput): Promise<Response> {
      const input = validate(verificationBodySchema, body, 'ERR_VERIFICATION_INVALID');
      const user = input.userId ?? `subject:${JSON.stringify(input.subject)}`;
      deps.verificationLimiter.take(user, 'this user');
      const started = await relay.verifications.start(input as Parameters<Relay['verifications']['start']>[0]);
      return jsonResponse(started, 201);
    },

    async getVerification({ params }: RouteInput): Promise<Response> {
      const id = params.verificationId as string;
      const state = await relay.verifications.get(id);
      if (state === undefined) throw httpError('ERR_VERIFICATION_NOT_FOUND', `No verification ${id}`);
      return jsonResponse(state);
    },

    async getFlow({ params }: RouteInput): Promise<Response> {
      const id = params.flowId as string;
      const flow = await relay.flows.get(id);
      if (flow === undefined) throw httpError('ERR_FLOW_NOT_FOUND', `No flow ${id}`);
      return jsonResponse(flow);
    },

    async listDeliveries({ request }: RouteInput): Promise<Response> {
      const query = validate(
        deliveriesQuerySchema,
        Object.fromEntries(new URL(request.url).searchParams),
        'ERR_HTTP_INVALID_REQUEST',
      );
      const key = query.event ?? eventKey({ source: query.source as string, id: query.id as string });
      const deliveries = await store.outbox.listByEvent(key);
      if (deliveries.length === 0 && (await store.events.get(key)) === undefined) {
        throw httpError('ERR_EVENT_NOT_FOUND', `No event ${key} was ingested`);
      }
      return jsonResponse({
        eventKey: key,
        total: deliveries.length,
        truncated: deliveries.length > MAX_LISTED_DELIVERIES,
        deliveries: deliveries.slice(0, MAX_LISTED_DELIVERIES).map((d) => ({
          id: d.id,
          notificationId: d.notificationId,
          ruleId: d.ruleId,
          userId: d.userId,
          deviceId: d.deviceId,
          platform: d.platform,
          status: d.status,
          attempts: d.attempts,
          dueAt: d.dueAt,
          ...(d.lastError === undefined ? {} : { lastError: d.lastError }),
          updatedAt: d.updatedAt,
        })),
      });
    },
  };
}

/** The gateway's route handlers. */
export type Handlers = ReturnType<typeof createHandlers>;
