import { SpanStatusCode, type Attributes, type HrTime, type SpanContext, type SpanKind, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

// A span recorded after the fact: every span of a request (root, calls, stages, relay) is made
// once its start and end are both known, and goes straight to the span processor as the record
// the exporter reads. The SDK's live span (its clock readings, attribute checks, processor calls
// on start, context objects) is most of what a traced request would otherwise cost.

export const NO_STATUS: SpanStatus = { code: SpanStatusCode.UNSET };
export const ERROR_STATUS: SpanStatus = { code: SpanStatusCode.ERROR };
const NONE: [] = [];

export function hrTime(epochMs: number): HrTime {
  const s = Math.floor(epochMs / 1000);
  const ns = Math.round((epochMs - s * 1000) * 1e6);
  return ns >= 1e9 ? [s + 1, ns - 1e9] : [s, ns];
}

/** What every span of a tracer shares. */
export interface SpanOrigin {
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

export class FinishedSpan implements ReadableSpan {
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly links = NONE;
  readonly events = NONE;
  readonly ended = true;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;

  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    origin: SpanOrigin,
    startEpochMs: number,
    endEpochMs: number,
    readonly attributes: Attributes,
    readonly status: SpanStatus,
  ) {
    this.resource = origin.resource;
    this.instrumentationScope = origin.scope;
    this.startTime = hrTime(startEpochMs);
    this.endTime = hrTime(Math.max(startEpochMs, endEpochMs));
    this.duration = hrTime(Math.max(0, endEpochMs - startEpochMs));
  }

  spanContext(): SpanContext {
    return this.context;
  }
}
