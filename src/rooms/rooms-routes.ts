import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { bearerSecurity, type Authenticate } from '../auth/authenticate.js';
import type { RoomsService } from './rooms-service.js';
import { directRoomBodySchema, groupRoomBodySchema, roomIdParamsSchema, roomListSchema, roomSchema } from './rooms-schemas.js';

export interface RoomsRoutesOptions {
  rooms: RoomsService;
  authenticate: Authenticate;
}

export async function roomsRoutes(app: FastifyInstance, options: RoomsRoutesOptions): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const { rooms, authenticate } = options;

  typed.post('/api/rooms/direct', {
    preHandler: authenticate,
    schema: {
      tags: ['rooms'],
      summary: 'Open the direct room with another user (201 when new, 200 when it already exists)',
      security: bearerSecurity,
      body: directRoomBodySchema,
      response: { 200: roomSchema, 201: roomSchema },
    },
    handler: async (request, reply) => {
      const { room, created } = await rooms.openDirect(request.auth.userId, request.body.targetUserId);
      return reply.status(created ? 201 : 200).send(room);
    },
  });

  typed.post('/api/rooms/group', {
    preHandler: authenticate,
    schema: {
      tags: ['rooms'],
      summary: 'Create a group room with the caller as a member',
      security: bearerSecurity,
      body: groupRoomBodySchema,
      response: { 201: roomSchema },
    },
    handler: async (request, reply) => reply.status(201).send(await rooms.createGroup(request.auth.userId, request.body)),
  });

  typed.get('/api/rooms', {
    preHandler: authenticate,
    schema: {
      tags: ['rooms'],
      summary: "The caller's rooms, most recent activity first, with last message and unread count",
      security: bearerSecurity,
      response: { 200: roomListSchema },
    },
    handler: async (request) => rooms.listRooms(request.auth.userId),
  });

  typed.get('/api/rooms/:roomId', {
    preHandler: authenticate,
    schema: {
      tags: ['rooms'],
      summary: 'A room with its members (members only)',
      security: bearerSecurity,
      params: roomIdParamsSchema,
      response: { 200: roomSchema },
    },
    handler: async (request) => rooms.getRoom(request.auth.userId, request.params.roomId),
  });
}
