import { KafkaJS } from '@confluentinc/kafka-javascript';
import type postgres from 'postgres';
import { seqOf, type SentMessage, type Watcher } from './fault-traffic.js';
import { waitFor } from './wait.js';

/**
 * What a fault test concludes from its traffic: every figure the docs report, and the violations
 * of the promise "a RECEIPT means stored exactly once, in order, and delivered".
 */
export interface PhaseFigures {
  phase: string;
  sent: number;
  receipted: number;
  /** RECEIPTs that came more than a second after their SEND (held while a dependency was away). */
  lateReceipts: number;
  refused: Record<string, number>;
  unanswered: number;
  /** Rows in PostgreSQL for this phase's messages. */
  stored: number;
  /** Stored although the client was told nothing or told it failed: in doubt, then safe. */
  storedWithoutReceipt: number;
  /** RECEIPTed but not in PostgreSQL. Must be 0. */
  lost: number;
  /** Rows beyond one per message key. Must be 0. */
  duplicated: number;
  /** Rows out of send order within a room. Must be 0. */
  outOfOrder: number;
  delivered: Record<
    string,
    {
      connectedThroughout: boolean;
      receipted: number;
      live: number;
      filledFromHistory: number;
      missing: number;
      duplicateFrames: number;
      outOfOrder: number;
    }
  >;
  longestReceiptMs: number;
}

type Sql = postgres.Sql;

export async function storedRows(
  sql: Sql,
  keys: string[],
): Promise<{ id: number; message_key: string; room_id: number; content: string }[]> {
  if (keys.length === 0) return [];
  return sql<{ id: number; message_key: string; room_id: number; content: string }[]>`
    select id::int as id, message_key::text as message_key, room_id::int as room_id, content
    from messages where message_key = any(${keys}::uuid[]) order by id`;
}

/** Waits until every RECEIPTed message of the phase is in PostgreSQL (they may be on their way). */
export async function waitUntilStored(sql: Sql, messages: SentMessage[], timeoutMs: number): Promise<void> {
  const receipted = messages.filter((message) => message.state === 'receipted').map((message) => message.messageKey);
  let stored = 0;
  await waitFor(
    async () => {
      stored = (await storedRows(sql, receipted)).length;
      return stored === receipted.length;
    },
    { timeoutMs, intervalMs: 250, what: `all ${receipted.length} RECEIPTed messages stored (have ${stored})` },
  ).catch((error: Error) => {
    throw new Error(`${error.message} (have ${stored})`);
  });
}

/** Waits until the phase's row count has stopped changing: messages in doubt may land late. */
export async function waitUntilQuiet(sql: Sql, messages: SentMessage[], quietMs: number, timeoutMs: number): Promise<void> {
  const keys = messages.map((message) => message.messageKey);
  let last = -1;
  let since = Date.now();
  await waitFor(
    async () => {
      const count = (await storedRows(sql, keys)).length;
      if (count !== last) {
        last = count;
        since = Date.now();
      }
      return Date.now() - since >= quietMs;
    },
    { timeoutMs, intervalMs: 250, what: 'stored rows to stop changing' },
  );
}

/** Waits until each watcher has every RECEIPTed message, live or (after a reconnect) from history. */
export async function waitUntilDelivered(watchers: Watcher[], messages: SentMessage[], timeoutMs: number): Promise<void> {
  const receipted = messages.filter((message) => message.state === 'receipted');
  for (const watcher of watchers) {
    await waitFor(
      async () => {
        await watcher.gapFilled();
        const missing = receipted.filter(
          (message) => !watcher.liveKeys.has(message.messageKey) && !watcher.filledKeys.has(message.messageKey),
        );
        // A reconnected client reads history again while persistence catches up, as the browser does.
        if (missing.length > 0 && watcher.connects > 1) await watcher.fillGap();
        return missing.length === 0;
      },
      { timeoutMs, intervalMs: 500, what: `${watcher.name} to have every RECEIPTed message` },
    ).catch(() => {});
  }
}

export async function auditPhase(
  sql: Sql,
  phase: string,
  messages: SentMessage[],
  watchers: Watcher[],
  window: { from: number; to: number },
): Promise<PhaseFigures> {
  const sentKeys = new Set(messages.map((message) => message.messageKey));
  const rows = await storedRows(sql, [...sentKeys]);
  const storedKeys = new Map<string, number>();
  for (const row of rows) storedKeys.set(row.message_key, (storedKeys.get(row.message_key) ?? 0) + 1);
  const receipted = messages.filter((message) => message.state === 'receipted');
  const refused: Record<string, number> = {};
  for (const message of messages)
    if (message.state === 'refused') refused[message.refusal ?? 'unknown'] = (refused[message.refusal ?? 'unknown'] ?? 0) + 1;

  let outOfOrder = 0;
  const lastSeq = new Map<number, number>();
  for (const row of rows) {
    const seq = seqOf(row.content);
    if (seq <= (lastSeq.get(row.room_id) ?? -1)) outOfOrder += 1;
    lastSeq.set(row.room_id, seq);
  }

  const delivered: PhaseFigures['delivered'] = {};
  for (const watcher of watchers) {
    const throughout = watcher.connectedThroughout(window.from, window.to);
    let live = 0;
    let filled = 0;
    let missing = 0;
    let duplicateFrames = 0;
    for (const message of receipted) {
      const frames = watcher.liveKeys.get(message.messageKey) ?? 0;
      if (frames > 0) live += 1;
      else if (watcher.filledKeys.has(message.messageKey)) filled += 1;
      else missing += 1;
      if (frames > 1) duplicateFrames += frames - 1;
    }
    // Live order per room, first sighting of each key (a redelivered frame is a duplicate, not disorder).
    let orderBreaks = 0;
    const seen = new Set<string>();
    const lastLive = new Map<number, number>();
    for (const delivery of watcher.live) {
      if (!sentKeys.has(delivery.messageKey) || seen.has(delivery.messageKey)) continue;
      seen.add(delivery.messageKey);
      if (delivery.seq <= (lastLive.get(delivery.roomId) ?? -1)) orderBreaks += 1;
      lastLive.set(delivery.roomId, delivery.seq);
    }
    delivered[watcher.name] = {
      connectedThroughout: throughout,
      receipted: receipted.length,
      live,
      filledFromHistory: filled,
      missing,
      duplicateFrames,
      outOfOrder: orderBreaks,
    };
  }

  return {
    phase,
    sent: messages.length,
    receipted: receipted.length,
    lateReceipts: receipted.filter((message) => (message.answeredAt ?? 0) - message.sentAt > 1_000).length,
    refused,
    unanswered: messages.filter((message) => message.state === 'unanswered').length,
    stored: storedKeys.size,
    storedWithoutReceipt: messages.filter((message) => message.state !== 'receipted' && storedKeys.has(message.messageKey)).length,
    lost: receipted.filter((message) => !storedKeys.has(message.messageKey)).length,
    duplicated: [...storedKeys.values()].reduce((sum, count) => sum + count - 1, 0),
    outOfOrder,
    delivered,
    longestReceiptMs: Math.max(0, ...receipted.map((message) => (message.answeredAt ?? message.sentAt) - message.sentAt)),
  };
}

/** Every room's unread count for `token`'s user against PostgreSQL's own count of messages from others. */
export async function unreadMismatches(
  sql: Sql,
  baseUrl: string,
  user: { token: string; userId: number },
): Promise<{ roomId: number; api: number; database: number }[]> {
  const response = await fetch(`${baseUrl}/api/rooms`, {
    headers: { authorization: `Bearer ${user.token}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET /api/rooms: ${response.status}`);
  const rooms = (await response.json()) as { roomId: number; unreadCount: number }[];
  const counts = await sql<{ room_id: number; n: number }[]>`
    select room_id::int as room_id, count(*)::int as n from messages where sender_id <> ${user.userId} group by room_id`;
  const byRoom = new Map(counts.map((row) => [row.room_id, row.n]));
  return rooms
    .map((room) => ({ roomId: room.roomId, api: room.unreadCount, database: byRoom.get(room.roomId) ?? 0 }))
    .filter((room) => room.api !== room.database);
}

/** Records on a topic (sum of high watermarks): how many dead letters there are. */
export async function topicRecordCount(brokers: string, topic: string): Promise<number> {
  const admin = new KafkaJS.Kafka({ kafkaJS: { brokers: [brokers], logLevel: KafkaJS.logLevel.NOTHING } }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic, { timeout: 5_000, isolationLevel: KafkaJS.IsolationLevel.READ_UNCOMMITTED });
    return offsets.reduce((sum, entry) => sum + Number(entry.high) - Number(entry.low), 0);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Lag of a consumer group on a topic: high watermark minus committed offset, summed over partitions. */
export async function groupLag(brokers: string, groupId: string, topic: string): Promise<number> {
  const admin = new KafkaJS.Kafka({ kafkaJS: { brokers: [brokers], logLevel: KafkaJS.logLevel.NOTHING } }).admin();
  await admin.connect();
  try {
    const high = await admin.fetchTopicOffsets(topic, { timeout: 5_000, isolationLevel: KafkaJS.IsolationLevel.READ_UNCOMMITTED });
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic], timeout: 5_000 });
    let lag = 0;
    for (const entry of high) {
      const done = committed?.partitions.find((partition) => partition.partition === entry.partition);
      const next = done && Number(done.offset) >= 0 ? Number(done.offset) : Number(entry.low);
      lag += Number(entry.high) - next;
    }
    return lag;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
