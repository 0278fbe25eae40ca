import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { userSchema } from '../auth/auth-schemas.js';
import { bearerSecurity, type Authenticate } from '../auth/authenticate.js';
import { isStorableText, STORABLE_TEXT_MESSAGE } from '../db/storable-text.js';
import { unauthorized } from '../errors.js';
import { idParamSchema } from '../ids.js';
import type { UsersRepository } from './users-repository.js';

export async function usersRoutes(app: FastifyInstance, options: { users: UsersRepository; authenticate: Authenticate }) {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get('/api/users/me', {
    preHandler: options.authenticate,
    schema: { tags: ['users'], summary: 'The caller', security: bearerSecurity, response: { 200: userSchema } },
    handler: async (request) => {
      const user = await options.users.findById(request.auth.userId);
      // A valid signature for a deleted account is still no account.
      if (!user) throw unauthorized('User no longer exists');
      return user;
    },
  });

  typed.get('/api/users', {
    preHandler: options.authenticate,
    schema: {
      tags: ['users'],
      summary: 'Find people by nickname or email prefix',
      security: bearerSecurity,
      querystring: z.object({
        query: z.string().trim().max(100).refine(isStorableText, STORABLE_TEXT_MESSAGE).default(''),
        size: z.coerce.number().int().min(1).max(100).default(20),
        cursor: idParamSchema.optional(),
      }),
      response: {
        200: z.object({
          users: z.array(userSchema),
          hasMore: z.boolean(),
          nextCursor: z.number().int().nullable(),
        }),
      },
    },
    handler: async (request) => {
      const { query, size, cursor } = request.query;
      const rows = await options.users.search({ query, size: size + 1, afterId: cursor, excludeId: request.auth.userId });
      const page = rows.slice(0, size);
      const hasMore = rows.length > size;
      return { users: page, hasMore, nextCursor: hasMore ? (page.at(-1)?.id ?? null) : null };
    },
  });
}
