export function kafkaServerProperties(options: { host: string; port: number; dataDir: string; header?: string[] }): string;
export function kafkaJavaArgs(
  options: { libsDir: string; logsDir: string; log4jFile: string; maxHeap?: string; jvm?: string[] },
  mainClass: string,
  ...args: string[]
): string[];
