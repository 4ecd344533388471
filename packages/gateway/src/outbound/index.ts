export {
  type AttemptOutcome,
  createDeliveryLog,
  type DeliveryAttempt,
  type DeliveryLog,
} from './delivery-log.js';
export { endpointUrl, isLoopbackHost } from './endpoint-url.js';
export {
  createWebhookSubscriptions,
  type WebhookSubscription,
  type WebhookSubscriptions,
  type WebhookSubscriptionsOptions,
} from './subscriptions.js';
export { WEBHOOK_ERRORS, type WebhookErrorCode } from './webhook-errors.js';
export { CLOUDEVENTS_JSON, cloudEventBody, webhookId } from './webhook-payload.js';
export {
  createWebhookReceiver,
  type ReceivedWebhook,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from './webhook-receiver.js';
export {
  createWebhookWriteBack,
  type WebhookWriteBack,
  type WebhookWriteBackOptions,
} from './webhook-write-back.js';
