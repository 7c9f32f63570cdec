/**
 * Preload (`node --import`) that leaks a handle the way a forgotten open port or timer does: a
 * referenced interval nobody clears keeps the event loop, and so the process, alive. Used to prove
 * that a CLI command still ends (src/cli/shutdown.ts) when something it opened is never closed.
 */
setInterval(() => undefined, 3_600_000);
