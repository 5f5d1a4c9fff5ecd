import { WEBHOOK_TYPES, type WebhookType } from './event-types.ts';

/**
 * What each webhook type means, for people choosing the events an endpoint listens to (the
 * console's event picker, through GET /api/v1/webhook_event_types). The category is the type's
 * prefix, so it is not spelled twice.
 */

export interface WebhookEventType {
  key: WebhookType;
  name: string;
  description: string;
  category: string;
  deprecated: boolean;
}

const DESCRIPTIONS: Record<WebhookType, string> = {
  'alert.triggered': 'A usage alert crossed one of its thresholds.',
  'billable_metric.created': 'A billable metric was created.',
  'billable_metric.deleted': 'A billable metric was deleted.',
  'billable_metric.updated': 'A billable metric was updated.',
  'credit_note.created': 'A credit note was created.',
  'credit_note.generated': 'The PDF of a credit note was generated.',
  'credit_note.provider_refund_failure': 'The refund of a credit note failed at the payment provider.',
  'credit_note.refund_failure': 'Deprecated: Lago now names it credit_note.provider_refund_failure.',
  'customer.accounting_provider_created': 'A customer was created in the accounting integration.',
  'customer.accounting_provider_error': 'The accounting integration refused a customer.',
  'customer.checkout_url_generated': 'A checkout URL was generated for a customer.',
  'customer.created': 'A customer was created.',
  'customer.crm_provider_created': 'A customer was created in the CRM integration.',
  'customer.crm_provider_error': 'The CRM integration refused a customer.',
  'customer.payment_provider_created': 'A customer was created at the payment provider.',
  'customer.payment_provider_error': 'The payment provider refused a customer.',
  'customer.tax_provider_error': 'The tax integration refused a customer.',
  'customer.updated': 'A customer was updated.',
  'customer.vies_check': "The VIES check of a customer's VAT number finished.",
  'dunning_campaign.finished': 'A dunning campaign finished for a customer.',
  'event.error': 'Deprecated by Lago for events.errors: an ingested usage event could not be processed.',
  'events.errors': 'Usage events could not be processed (a summary of errors).',
  'feature.created': 'A feature was created.',
  'feature.deleted': 'A feature was deleted.',
  'feature.updated': 'A feature was updated.',
  'fee.created': 'A fee was created (pay in advance charges).',
  'fee.tax_provider_error': 'The tax integration refused a fee.',
  'integration.provider_error': 'An integration reported an error.',
  'invoice.add_on_added': 'Deprecated: an invoice for a one-off add-on; Lago no longer lists it.',
  'invoice.created': 'An invoice was finalized.',
  'invoice.deleted': 'A draft invoice was deleted.',
  'invoice.drafted': 'A draft invoice was created.',
  'invoice.generated': 'The PDF of an invoice was generated.',
  'invoice.one_off_created': 'A one-off invoice was created.',
  'invoice.paid_credit_added': 'An invoice for purchased credits was paid.',
  'invoice.payment_dispute_lost': 'A payment dispute on an invoice was lost.',
  'invoice.payment_failure': 'The payment of an invoice failed.',
  'invoice.payment_overdue': 'An invoice is past its due date.',
  'invoice.payment_status_updated': 'The payment status of an invoice changed.',
  'invoice.ready_to_finalize': 'A draft invoice is ready to be finalized.',
  'invoice.resynced': 'An invoice was synced again with an integration.',
  'invoice.voided': 'An invoice was voided.',
  'order.created': 'An order was created.',
  'order.executed': 'An order was executed.',
  'order_form.created': 'An order form was created.',
  'order_form.expired': 'An order form expired.',
  'order_form.signed': 'An order form was signed.',
  'order_form.voided': 'An order form was voided.',
  'payment.requires_action': 'A payment needs an action from the customer.',
  'payment.succeeded': 'A payment succeeded.',
  'payment_provider.error': 'A payment provider reported an error.',
  'payment_receipt.created': 'A payment receipt was created.',
  'payment_receipt.generated': 'The PDF of a payment receipt was generated.',
  'payment_request.created': 'A payment request was created.',
  'payment_request.payment_failure': 'The payment of a payment request failed.',
  'payment_request.payment_status_updated': 'The payment status of a payment request changed.',
  'plan.created': 'A plan was created.',
  'plan.deleted': 'A plan was deleted.',
  'plan.updated': 'A plan was updated.',
  'quote.approved': 'A quote was approved.',
  'quote.created': 'A quote was created.',
  'quote.voided': 'A quote was voided.',
  'subscription.canceled': 'A pending subscription was canceled.',
  'subscription.incomplete': 'A subscription is waiting for a payment to start.',
  'subscription.started': 'A subscription started.',
  'subscription.terminated': 'A subscription was terminated.',
  'subscription.termination_alert': 'A subscription will end soon.',
  'subscription.trial_ended': 'The free trial of a subscription ended.',
  'subscription.updated': 'A subscription was updated (plan or dates).',
  'subscription.usage_threshold_reached': 'A subscription reached a progressive billing threshold.',
  'wallet.created': 'A wallet was created.',
  'wallet.depleted_ongoing_balance': 'The ongoing balance of a wallet reached zero.',
  'wallet.terminated': 'A wallet was terminated.',
  'wallet.updated': 'A wallet was updated.',
  'wallet_transaction.created': 'A wallet transaction was created.',
  'wallet_transaction.payment_failure': 'The payment of a wallet transaction failed.',
  'wallet_transaction.updated': 'A wallet transaction was updated.',
};

/**
 * Types Lago has retired or renamed: still accepted, published and delivered, and shown as deprecated so that new
 * endpoints pick their successors (test/fixtures/lago-webhook-event-types-2026-08.json is Lago's list).
 */
const DEPRECATED: ReadonlySet<WebhookType> = new Set([
  'credit_note.refund_failure',
  'event.error',
  'invoice.add_on_added',
]);

/** "invoice.payment_status_updated" reads "Invoice payment status updated". */
function nameOf(key: string): string {
  const words = key.replace(/[._]/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = WEBHOOK_TYPES.map((key) => ({
  key,
  name: nameOf(key),
  description: DESCRIPTIONS[key],
  category: key.split('.')[0]!,
  deprecated: DEPRECATED.has(key),
}));
