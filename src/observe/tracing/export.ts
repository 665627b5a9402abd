import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Clock } from '../../time/index.js';
import type { Logger } from '../log.js';

/** At most one log line about failed exports per this many ms. */
const LOG_EVERY_MS = 60_000;

/**
 * The exporter, with its failures told to the log: at most one line a minute, with how many
 * batches failed since the last, and never the headers (they may carry a collector's token).
 * A failure is the batch's loss only; a request never hears of it.
 */
export class ReportingExporter implements SpanExporter {
  #failures = 0;
  #lastLogAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly inner: SpanExporter, private readonly log: Logger, private readonly clock: Clock, private readonly endpoint: string) {}

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.inner.export(spans, (r) => {
      if (r.code !== ExportResultCode.SUCCESS) this.#failed(r.error);
      done(r);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  /** `close()` ran: the failures not told yet are, in one line. */
  closed(): void {
    if (this.#failures > 0) this.#tell(this.#lastReason);
  }

  #lastReason = 'unknown';

  #failed(error: Error | undefined): void {
    this.#failures++;
    this.#lastReason = error?.message ?? 'unknown';
    const now = this.clock.monoMs();
    if (now - this.#lastLogAt < LOG_EVERY_MS) return;
    this.#lastLogAt = now;
    this.#tell(this.#lastReason);
  }

  #tell(reason: string): void {
    const failures = this.#failures;
    this.#failures = 0;
    this.log.warn({ endpoint: this.endpoint, failedBatches: failures, reason },
      'could not send traces to the OTLP collector; check tracing.endpoint (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and that the collector is up. Spans are dropped meanwhile; requests are not affected');
  }
}
