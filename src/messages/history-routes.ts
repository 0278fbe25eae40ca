import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerSecurity, type Authenticate } from '../auth/authenticate.js';
import { idParamSchema } from '../ids.js';
import { roomIdParamsSchema } from '../rooms/rooms-schemas.js';
import { messageTypes } from './chat-message.js';
import type { MessagesRepository } from './messages-repository.js';

export interface HistoryRoutesOptions {
  messages: MessagesRepository;
  /** Throws 404 for an unknown room and 403 for a non-member. */
  requireMember: (userId: number, roomId: number) => Promise<void>;
  authenticate: Authenticate;
}

const historyQuerySchema = z
  .object({
    cursor: idParamSchema.optional().describe('id of the last message of the previous page; returns older messages'),
    after: idParamSchema.optional().describe('returns messages newer than this id, oldest first'),
    size: z
      .string()
      .regex(/^\d{1,3}$/, 'must be an integer between 1 and 100')
      .transform(Number)
      .pipe(z.number().int().min(1).max(100))
      .default(20),
  })
  .refine((query) => query.cursor === undefined || query.after === undefined, {
    path: ['after'],
    message: 'cannot be combined with cursor',
  });

const historyMessageSchema = z.object({
  id: z.number().int(),
  messageKey: z.string(),
  roomId: z.number().int(),
  senderId: z.number().int(),
  senderNickname: z.string(),
  content: z.string(),
  type: z.enum(messageTypes),
  createdAt: z.date(),
});

const historyPageSchema = z.object({
  messages: z.array(historyMessageSchema),
  hasMore: z.boolean(),
  /** Pass back as `cursor` (or as `after` when reading forward) for the next page. */
  nextCursor: z.number().int().nullable(),
});

export async function historyRoutes(app: FastifyInstance, options: HistoryRoutesOptions): Promise<void> {
  const typed = app.withTypeProvider<ZodTypeProvider>();

  typed.get('/api/rooms/:roomId/messages', {
    preHandler: options.authenticate,
    schema: {
      tags: ['messages'],
      summary: 'Message history: newest first with `cursor`, or oldest first newer than `after` (members only)',
      security: bearerSecurity,
      params: roomIdParamsSchema,
      querystring: historyQuerySchema,
      response: { 200: historyPageSchema },
    },
    handler: async (request) => {
      const { roomId } = request.params;
      const { cursor, after, size } = request.query;
      await options.requireMember(request.auth.userId, roomId);
      // One row beyond the page tells whether another page exists, without a COUNT.
      const rows = await options.messages.list(roomId, after !== undefined ? { after } : { before: cursor }, size + 1);
      const messages = rows.slice(0, size);
      const hasMore = rows.length > size;
      return { messages, hasMore, nextCursor: hasMore ? (messages.at(-1)?.id ?? null) : null };
    },
  });
}
