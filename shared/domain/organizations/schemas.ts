import { z } from 'zod';
import { UUID } from '../ids.ts';
import { CONTROL_CHARACTER } from '../text.ts';
import { named } from '../validation.ts';
import { MAX_ROTATION_OVERLAP_SECONDS } from './tokens.ts';

/** The bodies of the organization routes: creating one (operator), rotating its HMAC token. */

export const OrganizationRequest = named(
  'OrganizationRequest',
  z.object({
    name: z
      .string()
      .refine((name) => name.trim() !== '', { error: 'value_is_mandatory' })
      .max(255)
      .refine((name) => !CONTROL_CHARACTER.test(name))
      .transform((name) => name.trim()),
  }),
  { examples: [{ name: 'Acme' }] },
);

export const RotateRequest = named(
  'RotateRequest',
  z.object({
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_OVERLAP_SECONDS)
      .nullish()
      .transform((seconds) => seconds ?? undefined)
      .describe('How long the previous token stays valid; 24 h by default'),
  }),
  { examples: [{ overlap_seconds: 3600 }] },
);

/** A portal session's bounds: a minute to a day, an hour by default (organizations/portal-sessions.ts). */
const PORTAL_SESSION_TTL_SECONDS = { min: 60, max: 86_400, default: 3600 } as const;

export const PortalSessionRequest = named(
  'PortalSessionRequest',
  z.object({
    role: z
      .enum(['viewer', 'manager'])
      .nullish()
      .transform((role) => role ?? 'viewer')
      .describe(
        "`viewer` (the default) reads endpoints and deliveries, never a secret, and changes nothing; `manager` has the API key's rights",
      ),
    ttl_seconds: z
      .number()
      .int()
      .min(PORTAL_SESSION_TTL_SECONDS.min)
      .max(PORTAL_SESSION_TTL_SECONDS.max)
      .nullish()
      .transform((seconds) => seconds ?? PORTAL_SESSION_TTL_SECONDS.default)
      .describe('How long the link and its token work: 60 to 86400 seconds, 3600 by default'),
    webhook_endpoint_id: z
      .string()
      .regex(UUID)
      .nullish()
      .transform((id) => id ?? undefined)
      .describe("An endpoint of the organization: the link opens its deliveries (the console's home otherwise)"),
  }),
  {
    examples: [
      { role: 'viewer', ttl_seconds: 3600 },
      { role: 'manager', ttl_seconds: 600, webhook_endpoint_id: '0190a0a0-0000-7000-8000-000000000001' },
    ],
  },
);
