// Loaded into the server that `npm run dev` starts (node --import). The wrapper puts the server in
// a process group of its own, so that a terminal's Ctrl-C reaches it once, through the wrapper.
// Were the wrapper killed outright (SIGKILL), the server would go on running with nobody left to
// stop it; the IPC channel to the wrapper closes whenever the wrapper dies, and the server then
// stops itself, gracefully.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
