import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { uniqueSuffix } from './services.js';

export interface SignedUpUser {
  token: string;
  userId: number;
  email: string;
  nickname: string;
}

let counter = 0;

export async function signup(
  app: FastifyInstance,
  overrides: Partial<{ email: string; password: string; nickname: string }> = {},
): Promise<SignedUpUser> {
  counter += 1;
  const body = {
    email: `user${counter}_${uniqueSuffix()}@example.com`,
    password: 'correct horse battery',
    nickname: `user${counter}`,
    ...overrides,
  };
  const response = await app.inject({ method: 'POST', url: '/api/auth/signup', payload: body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Asserts the shared error shape {status, error, message, path, timestamp} and returns the body. */
export function expectError(response: LightMyRequestResponse, status: number, path?: string) {
  expect(response.statusCode, response.body).toBe(status);
  const body = response.json();
  expect(body).toEqual({
    status,
    error: expect.any(String),
    message: expect.any(String),
    path: path ?? expect.any(String),
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  });
  return body as { status: number; error: string; message: string; path: string; timestamp: string };
}
