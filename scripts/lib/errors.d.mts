/** A failure the person running a script can act on; CLIs print its message without a stack. */
export class ScriptError extends Error {}
