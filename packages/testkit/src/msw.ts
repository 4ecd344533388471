/**
 * `@idrelay/testkit/msw`: msw request handlers that answer like Google's FCM HTTP v1 and OAuth endpoints, for tests
 * on firebase-admin's HTTP/1.1 path. Needs `msw` installed (an optional peer dependency).
 *
 * @packageDocumentation
 */

export { type FcmHandlersOptions, type FcmMswHandlers, fcmHandlers } from './fcm/msw-handlers.js';
