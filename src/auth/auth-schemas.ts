import { z } from 'zod';
import { isStorableText, STORABLE_TEXT_MESSAGE } from '../db/storable-text.js';

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: 'must be a valid email address' }).max(254));

export const signupBodySchema = z.object({
  email: emailSchema,
  password: z.string().min(8, 'must be at least 8 characters').max(200),
  nickname: z.string().trim().min(1, 'must not be empty').max(50).refine(isStorableText, STORABLE_TEXT_MESSAGE),
});

export const loginBodySchema = z.object({
  email: emailSchema,
  password: z.string().min(1, 'must not be empty').max(200),
});

export const authResponseSchema = z.object({
  token: z.string(),
  userId: z.number().int(),
  email: z.string(),
  nickname: z.string(),
});

export const userSchema = z.object({
  id: z.number().int(),
  email: z.string(),
  nickname: z.string(),
  status: z.enum(['ONLINE', 'OFFLINE']),
  lastSeenAt: z.date().nullable(),
  createdAt: z.date(),
});
