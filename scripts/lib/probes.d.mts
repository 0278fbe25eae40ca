export interface ProbeResult {
  /** 'ok': that server answered; 'down': nothing listens, or not ready; 'foreign': something else listens. */
  state: 'ok' | 'down' | 'foreign';
  detail?: string;
  /** PostgreSQL: the SQLSTATE of an error reply that still proves a server (3D000: no such database). */
  sqlstate?: string;
}
export interface HostPort {
  host: string;
  port: number;
}
type ProbeOptions = { timeoutMs?: number };

export function probePostgres(target: HostPort & ProbeOptions & { user?: string; database?: string }): Promise<ProbeResult>;
export function probeRedis(target: HostPort & ProbeOptions & { username?: string; password?: string }): Promise<ProbeResult>;
export function probeKafka(target: HostPort & ProbeOptions): Promise<ProbeResult>;
export function probeKafkaAny(brokers: HostPort[], options?: ProbeOptions): Promise<ProbeResult & { broker?: HostPort }>;
