import type { WebhookType } from './event-types.ts';

/**
 * Example objects for test events (POST /api/v1/webhook_endpoints/{lago_id}/test), kept as data
 * beside the catalog (shared/domain/catalog/event-catalog.ts): one realistic object per category, in the shape
 * Lago sends, and a generic one for a category without its own. Ids and amounts are made up.
 */

export interface EventExample {
  /** The envelope's `object_type`, and the key the object sits under. */
  object_type: string;
  object: Record<string, unknown>;
}

const AT = '2026-01-15T10:00:00Z';
const CUSTOMER = {
  lago_id: '1f5f6c1e-9b7a-4a8e-8a55-6b2f1e0d3c01',
  external_id: 'cus_test_001',
  name: 'Test Customer',
  email: 'billing@example.com',
  currency: 'EUR',
};

const BY_CATEGORY: Record<string, EventExample> = {
  alert: {
    object_type: 'triggered_alert',
    object: {
      lago_id: '6a0c2c0e-1d1a-4c6f-9a61-1a2b3c4d5e01',
      lago_alert_id: '6a0c2c0e-1d1a-4c6f-9a61-1a2b3c4d5e02',
      alert_code: 'usage_80',
      alert_type: 'current_usage_amount',
      external_subscription_id: 'sub_test_001',
      current_value: '8200.0',
      previous_value: '7900.0',
      triggered_at: AT,
      crossed_thresholds: [{ code: 'warn', value: '8000.0', recurring: false }],
    },
  },
  billable_metric: {
    object_type: 'billable_metric',
    object: {
      lago_id: '2b0d2f5a-7c1e-4f0a-9b3d-2c1e0f9a8b01',
      name: 'API calls',
      code: 'api_calls',
      aggregation_type: 'count_agg',
      recurring: false,
      field_name: null,
      created_at: AT,
    },
  },
  credit_note: {
    object_type: 'credit_note',
    object: {
      lago_id: '3c1e3a6b-8d2f-4a1b-8c4e-3d2f1a0b9c01',
      sequential_id: 1,
      number: 'TEST-CN-001',
      lago_invoice_id: '4d2f4b7c-9e3a-4b2c-9d5f-4e3a2b1c0d01',
      invoice_number: 'TEST-001',
      credit_status: 'available',
      refund_status: null,
      reason: 'other',
      currency: 'EUR',
      total_amount_cents: 1200,
      created_at: AT,
    },
  },
  customer: {
    object_type: 'customer',
    object: { ...CUSTOMER, country: 'FR', timezone: 'Europe/Paris', created_at: AT },
  },
  dunning_campaign: {
    object_type: 'dunning_campaign',
    object: {
      customer_external_id: CUSTOMER.external_id,
      dunning_campaign_code: 'reminders',
      overdue_balance_cents: 12000,
      overdue_balance_currency: 'EUR',
    },
  },
  event: {
    object_type: 'event_error',
    object: {
      status: 422,
      error: 'Unprocessable Entity',
      message: 'code does not exist',
      event: {
        transaction_id: 'tr_test_001',
        external_subscription_id: 'sub_test_001',
        code: 'unknown_metric',
        timestamp: 1768471200,
        properties: {},
      },
    },
  },
  events: {
    object_type: 'events_errors',
    object: { invalid_code: ['tr_test_001'], missing_aggregation_property: [], missing_group_key: [] },
  },
  feature: {
    object_type: 'feature',
    object: { code: 'seats', name: 'Seats', description: 'Users who can sign in', privileges: [], created_at: AT },
  },
  fee: {
    object_type: 'fee',
    object: {
      lago_id: '5e3a5c8d-0f4b-4c3d-8e6a-5f4b3c2d1e01',
      lago_invoice_id: null,
      external_subscription_id: 'sub_test_001',
      amount_cents: 500,
      amount_currency: 'EUR',
      units: '5.0',
      item: { type: 'charge', code: 'api_calls', name: 'API calls' },
      created_at: AT,
    },
  },
  integration: {
    object_type: 'provider_error',
    object: {
      lago_integration_id: '6f4b6d9e-1a5c-4d4e-9f7b-6a5c4d3e2f01',
      provider: 'netsuite',
      provider_code: 'netsuite_test',
      message: 'The integration refused the request',
      error_code: 'integration_error',
    },
  },
  invoice: {
    object_type: 'invoice',
    object: {
      lago_id: '4d2f4b7c-9e3a-4b2c-9d5f-4e3a2b1c0d01',
      sequential_id: 1,
      number: 'TEST-001',
      issuing_date: '2026-01-15',
      payment_due_date: '2026-01-30',
      invoice_type: 'subscription',
      status: 'finalized',
      payment_status: 'pending',
      currency: 'EUR',
      fees_amount_cents: 10000,
      taxes_amount_cents: 2000,
      total_amount_cents: 12000,
      customer: CUSTOMER,
      created_at: AT,
    },
  },
  order: {
    object_type: 'order',
    object: {
      lago_id: '7a5c7e0f-2b6d-4e5f-8a8c-7b6d5e4f3a01',
      number: 'ORD-TEST-001',
      status: 'created',
      customer: CUSTOMER,
      created_at: AT,
    },
  },
  order_form: {
    object_type: 'order_form',
    object: {
      lago_id: '8b6d8f1a-3c7e-4f6a-9b9d-8c7e6f5a4b01',
      number: 'OF-TEST-001',
      status: 'created',
      customer: CUSTOMER,
      created_at: AT,
    },
  },
  payment: {
    object_type: 'payment',
    object: {
      lago_id: '9c7e9a2b-4d8f-4a7b-8cae-9d8f7a6b5c01',
      amount_cents: 12000,
      amount_currency: 'EUR',
      payment_status: 'succeeded',
      type: 'provider',
      reference: null,
      external_payment_id: 'pi_test_001',
      invoice_ids: ['4d2f4b7c-9e3a-4b2c-9d5f-4e3a2b1c0d01'],
      created_at: AT,
    },
  },
  payment_provider: {
    object_type: 'payment_provider_error',
    object: {
      lago_payment_provider_id: 'ad8f0b3c-5e9a-4b8c-9dbf-ae9a8b7c6d01',
      payment_provider_code: 'stripe_test',
      source: 'stripe',
      action: 'payment_provider.register_webhook',
      provider_error: { message: 'Invalid API key', error_code: 'unauthorized' },
    },
  },
  payment_receipt: {
    object_type: 'payment_receipt',
    object: {
      lago_id: 'be9a1c4d-6f0b-4c9d-8ec0-bf0b9c8d7e01',
      number: 'TEST-RCPT-001',
      payment: { lago_id: '9c7e9a2b-4d8f-4a7b-8cae-9d8f7a6b5c01', amount_cents: 12000, amount_currency: 'EUR' },
      created_at: AT,
    },
  },
  payment_request: {
    object_type: 'payment_request',
    object: {
      lago_id: 'cfab2d5e-7a1c-4dae-9fd1-c01c0d9e8f01',
      email: CUSTOMER.email,
      amount_cents: 12000,
      amount_currency: 'EUR',
      payment_status: 'pending',
      customer: CUSTOMER,
      invoices: [],
      created_at: AT,
    },
  },
  plan: {
    object_type: 'plan',
    object: {
      lago_id: 'd0bc3e6f-8b2d-4ebf-8ae2-d12d1eaf9a01',
      name: 'Startup',
      code: 'startup',
      interval: 'monthly',
      amount_cents: 9900,
      amount_currency: 'EUR',
      pay_in_advance: true,
      charges: [],
      created_at: AT,
    },
  },
  quote: {
    object_type: 'quote',
    object: {
      lago_id: 'e1cd4f7a-9c3e-4fca-9bf3-e23e2fba0b01',
      number: 'QT-TEST-001',
      status: 'draft',
      customer: CUSTOMER,
      created_at: AT,
    },
  },
  subscription: {
    object_type: 'subscription',
    object: {
      lago_id: 'f2de5a8b-0d4f-4adb-8ca4-f34f3acb1c01',
      external_id: 'sub_test_001',
      lago_customer_id: CUSTOMER.lago_id,
      external_customer_id: CUSTOMER.external_id,
      plan_code: 'startup',
      status: 'active',
      billing_time: 'calendar',
      started_at: AT,
      canceled_at: null,
      terminated_at: null,
      created_at: AT,
    },
  },
  wallet: {
    object_type: 'wallet',
    object: {
      lago_id: 'a3ef6b9c-1e5a-4bec-9db5-a45a4bdc2d01',
      lago_customer_id: CUSTOMER.lago_id,
      external_customer_id: CUSTOMER.external_id,
      status: 'active',
      currency: 'EUR',
      rate_amount: '1.0',
      credits_balance: '100.0',
      balance_cents: 10000,
      created_at: AT,
    },
  },
  wallet_transaction: {
    object_type: 'wallet_transaction',
    object: {
      lago_id: 'b4fa7cad-2f6b-4cfd-8ec6-b56b5ced3e01',
      lago_wallet_id: 'a3ef6b9c-1e5a-4bec-9db5-a45a4bdc2d01',
      status: 'settled',
      transaction_type: 'inbound',
      amount: '100.0',
      credit_amount: '100.0',
      created_at: AT,
    },
  },
};

/** The category a type belongs to: its prefix, as in the catalog. */
const categoryOf = (type: string) => type.split('.')[0]!;

/** Categories with their own example (a test asserts every catalog category has one). */
export const EXAMPLE_CATEGORIES: readonly string[] = Object.keys(BY_CATEGORY);

/** The example a test event of `type` carries: its category's, or a generic object of that category. */
export function exampleFor(type: WebhookType): EventExample {
  const category = categoryOf(type);
  return (
    BY_CATEGORY[category] ?? {
      object_type: category,
      object: { lago_id: '00000000-0000-4000-8000-000000000000', description: `An example ${type} event` },
    }
  );
}
