/**
 * A failure the person running a script can act on (a missing binary, a taken port, a service
 * that never answered). Command-line scripts print its message alone; anything else is a bug and
 * gets its stack trace.
 */
export class ScriptError extends Error {
  name = 'ScriptError';
}
