import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerSecurity, type Authenticate } from '../auth/authenticate.js';
import { forbidden, notFound, unavailable } from '../errors.js';
import { roomIdParamsSchema } from '../rooms/rooms-schemas.js';
import type { PresenceRepository } from './presence-repository.js';

export interface PresenceRoutesOptions {
  repository: PresenceRepository;
  onlineAmong(userIds: number[]): Promise<number[]>;
  authenticate: Authenticate;
}

export async function presenceRoutes(app: FastifyInstance, options: PresenceRoutesOptions): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get('/api/rooms/:roomId/members/online', {
    preHandler: options.authenticate,
    schema: {
      tags: ['presence'],
      summary: "Ids of the room's members who are online now, on any instance (members only)",
      security: bearerSecurity,
      params: roomIdParamsSchema,
      response: { 200: z.array(z.number().int()) },
    },
    handler: async (request) => {
      const { roomId } = request.params;
      const members = await options.repository.roomMembers(roomId);
      if (!members) throw notFound(`Room ${roomId} not found`);
      if (!members.includes(request.auth.userId)) throw forbidden(`Not a member of room ${roomId}`);
      try {
        return await options.onlineAmong(members);
      } catch (error) {
        request.log.warn({ err: error }, 'presence lookup failed');
        // Presence lives only in Redis; guessing "everyone offline" would be a wrong answer.
        throw unavailable('Presence is unavailable right now');
      }
    },
  });
}
