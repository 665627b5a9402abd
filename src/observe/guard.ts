import type { Logger } from 'pino';
import { wallClock, type Clock } from '../time/index.js';

/** At most this many stacks are logged per window; the rest are counted and summed up. */
const LINES_PER_WINDOW = 20;
const WINDOW_MS = 10_000;

/**
 * Keeps the process alive through what escapes every handler (a throw in a timer, a rejection
 * nobody awaited): each is logged with its stack and counted instead of ending the process and
 * every request in flight with it. Returns the function that removes the handlers. `clock` paces the
 * log windows.
 */
export function guardProcess(
  log: Logger,
  count: (kind: 'uncaught_exception' | 'unhandled_rejection') => void,
  clock: Clock = wallClock,
): () => void {
  let windowStart = 0;
  let lines = 0;
  let suppressed = 0;
  const report = (kind: 'uncaught_exception' | 'unhandled_rejection', err: unknown): void => {
    count(kind);
    const now = clock.nowMs();
    if (now - windowStart > WINDOW_MS) {
      if (suppressed > 0) log.error({ suppressed, kind }, 'more errors escaped than were logged in the last window');
      windowStart = now;
      lines = 0;
      suppressed = 0;
    }
    if (++lines > LINES_PER_WINDOW) {
      suppressed++;
      return;
    }
    log.error({ err, kind }, 'an error escaped every handler; the gateway keeps running');
  };
  const onException = (err: Error): void => report('uncaught_exception', err);
  const onRejection = (reason: unknown): void => report('unhandled_rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
