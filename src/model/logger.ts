import type { Logger as PinoLogger } from 'pino';

/** The logger every layer takes in its options: a pino logger (or a child of one). */
export type Logger = PinoLogger;
