export const REPO_ROOT: string;
export const KAFKA_ASSETS: string;
/** `<repo>/.stack`, or STACK_DIR when set. */
export function stackDir(env?: NodeJS.ProcessEnv): string;
