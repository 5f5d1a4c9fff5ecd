import { z } from 'zod';
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
