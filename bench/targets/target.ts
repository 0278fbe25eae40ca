import type { SendTemplate } from '../load/stomp-wire.js';

/**
 * What the workloads need from a system under test. Rooms and users are logical indices:
 * fan-out room r in [0, rooms), ingest room i is room `rooms + i`; subscriber user k in
 * [0, rooms × subscribersPerRoom) belongs to room floor(k / subscribersPerRoom); publisher p sends
 * to room p mod rooms. A target maps them onto its own ids (database rows, topic names).
 */
export interface Plan {
  rooms: number;
  subscribersPerRoom: number;
  publishers: number;
  ingestRooms: number;
}

export type UserRef = { role: 'subscriber' | 'publisher'; index: number };

export interface MemorySample {
  rssBytes: number;
  /** JS heap in use after a full GC (Node), or the Erlang VM's memory after a GC (RabbitMQ); null when unknown. */
  heapBytes: number | null;
}

export interface Target {
  readonly name: 'service' | 'rabbitmq' | 'ceiling';
  readonly label: string;
  /** What the run did to or found about this target (plugins enabled, limits raised, runtime). */
  readonly notes: string[];
  /** Whether ingest means "stored in a database" (the service) or only "RECEIPT received". */
  readonly stores: boolean;
  readonly url: string;
  readonly protocols: string[];
  start(): Promise<void>;
  prepare(plan: Plan): Promise<void>;
  connectHeaders(user: UserRef): Record<string, string>;
  subscribeDestination(room: number): string;
  sendTemplate(room: number): SendTemplate;
  /** Rows stored for these logical rooms; null for targets that store nothing. */
  storedCount(rooms: number[]): Promise<number | null>;
  /** Waits until work queued by earlier workloads is done, so the next one starts clean. */
  settle(): Promise<void>;
  memory(): Promise<MemorySample>;
  /** Most connections the target is configured to take, when it says (RabbitMQ's socket budget). */
  maxConnections?(): number | undefined;
  /** The target process's open-files limit: connections past it are refused by the kernel, not the target. */
  openFilesLimit?(): number | undefined;
  /** The process whose CPU time counts as the target's; undefined before start. */
  pid(): number | undefined;
  stop(): Promise<void>;
}

export const roomOfSubscriber = (plan: Plan, subscriber: number) => Math.floor(subscriber / plan.subscribersPerRoom);
export const roomOfPublisher = (plan: Plan, publisher: number) => publisher % plan.rooms;
