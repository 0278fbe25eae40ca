import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, forbidden } from '../errors.js';
import { idSchema } from '../ids.js';
import type { Producer } from '../kafka/kafka-client.js';
import type { Logger } from '../logger.js';
import type { MembershipCache } from '../realtime/membership-cache.js';
import { enforceLimit, type RateLimiter } from '../rate-limit/shared-window-limiter.js';
import { contentSchema, encodeChatMessage, messageTypes, type ChatMessage } from './chat-message.js';
import type { MessageKeyClaims } from './message-key-claims.js';

export const sendBodySchema = z.object({
  roomId: idSchema,
  content: contentSchema,
  type: z.enum(messageTypes).default('TEXT'),
  // One spelling of a key everywhere (PostgreSQL prints uuids in lower case), so the key a
  // subscriber sees live is the one history shows and the one its claim is held under.
  messageKey: z
    .uuid()
    .transform((key) => key.toLowerCase())
    .optional(),
});

export function parseJsonBody<T>(schema: z.ZodType<T>, body: Buffer): T {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError('VALIDATION', 'body must be JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new AppError('VALIDATION', parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}

export interface Sender {
  userId: number;
  nickname: string;
}

/**
 * The front half of the message path: a SEND becomes one record on chat.messages, keyed by room
 * so the room keeps its order. Checks run cheapest first, and nothing leaves the process for a
 * rate-limited, invalid or unauthorised message.
 */
export function createMessagePublisher(deps: {
  producer: Producer;
  topic: string;
  /** Per user, shared by all instances. */
  limiter: Pick<RateLimiter, 'acquire'>;
  membership: MembershipCache;
  /** Checks a client-chosen messageKey; without it, any key is taken on trust. */
  claims?: MessageKeyClaims;
  log?: Logger;
  onProduced?: (latencyMs: number) => void;
}) {
  return {
    /** Resolves once the record is handed to the producer (in call order); `durable` once Kafka acknowledged it. */
    async publish(sender: Sender, body: Buffer): Promise<{ message: ChatMessage; durable: Promise<void> }> {
      await enforceLimit(deps.limiter, sender.userId, 'messages');
      const input = parseJsonBody(sendBodySchema, body);
      if (!(await deps.membership.isMember(input.roomId, sender.userId))) {
        throw forbidden(`not a member of room ${input.roomId}`);
      }
      const message: ChatMessage = {
        messageKey: input.messageKey ?? randomUUID(),
        roomId: input.roomId,
        senderId: sender.userId,
        senderNickname: sender.nickname,
        content: input.content,
        type: input.type,
        timestamp: new Date().toISOString(),
      };
      // A key the server made up is new by construction; a client's may name another message.
      if (input.messageKey !== undefined) await deps.claims?.claim(message);
      const startedAt = performance.now();
      const durable = deps.producer
        .send({ topic: deps.topic, messages: [{ key: String(message.roomId), value: encodeChatMessage(message) }] })
        .then(
          () => deps.onProduced?.(performance.now() - startedAt),
          (error: unknown) => {
            // The client learns that it must send again; the client library's wording stays in the log.
            deps.log?.warn(
              { err: error, messageKey: message.messageKey, roomId: message.roomId },
              'produce failed; SEND answered with an error',
            );
            throw new AppError('UNAVAILABLE', 'message not stored: the message broker did not acknowledge it; send it again');
          },
        );
      return { message, durable };
    },
  };
}

export type MessagePublisher = ReturnType<typeof createMessagePublisher>;
