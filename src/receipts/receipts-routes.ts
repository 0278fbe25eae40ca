import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { bearerSecurity, type Authenticate } from '../auth/authenticate.js';
import { roomIdParamsSchema } from '../rooms/rooms-schemas.js';
import { readAcceptedSchema, readBodySchema } from './receipt-schemas.js';
import type { ReceiptsService } from './receipts-service.js';

export interface ReceiptsRoutesOptions {
  receipts: ReceiptsService;
  authenticate: Authenticate;
}

export async function receiptsRoutes(app: FastifyInstance, options: ReceiptsRoutesOptions): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.post('/api/rooms/:roomId/read', {
    preHandler: options.authenticate,
    schema: {
      tags: ['receipts'],
      summary: 'Mark the room read up to a message (by id or key); 202 once Kafka holds the receipt (members only)',
      description:
        'The chat-read-receipts consumer moves the read mark forward only, recomputes the unread count and publishes ' +
        'a READ event (MESSAGE header `event:READ`) to /topic/room.{roomId}.events.',
      security: bearerSecurity,
      params: roomIdParamsSchema,
      body: readBodySchema,
      response: { 202: readAcceptedSchema },
    },
    handler: async (request, reply) => {
      const { record, durable } = await options.receipts.submit(request.auth.userId, request.params.roomId, request.body);
      await durable;
      return reply.status(202).send({
        roomId: record.roomId,
        lastReadMessageId: record.lastReadMessageId ?? null,
        lastReadMessageKey: record.lastReadMessageKey ?? null,
      });
    },
  });
}
