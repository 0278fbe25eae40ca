/** A port free at this moment, for a child process to listen on. */
export function freePort(host?: string): Promise<number>;
/** True when nothing listens on host:port (default host 127.0.0.1). */
export function portFree(port: number, host?: string): Promise<boolean>;
/** True when something accepts a TCP connection on host:port. */
export function portOpen(port: number, host?: string, timeoutMs?: number): Promise<boolean>;
