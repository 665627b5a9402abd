import type { UpstreamChunk, UpstreamCompletion } from '../../api/index.js';
import type { CallTracer, DispatchController, DispatchHandler, Interceptor, Target, UpstreamRequest } from '../dispatch.js';
import type { UpstreamFailure } from '../types.js';

/**
 * A span per call of a traced request, whose context the call carries to its replica; put it
 * innermost, so each retry and hedge is its own span. An untraced request passes through as is.
 * Composed only when tracing is on.
 */
export function traceReport<T extends Target>(): Interceptor<T> {
  return (next) => (req, handler) => {
    const tracer = req.tracer;
    return tracer == null ? next(req, handler) : next(req, new TraceHandler(handler, req, tracer));
  };
}

class TraceHandler<T extends Target> implements DispatchHandler<T> {
  #span: ReturnType<CallTracer<T>['attempt']> | null = null;

  constructor(private readonly handler: DispatchHandler<T>, private readonly req: UpstreamRequest<T>, private readonly tracer: CallTracer<T>) {}

  // the base dispatch says onStart before it sends: the headers set here go with this call
  onStart(call: DispatchController<T>): void {
    if (call.target !== null) {
      const span = this.#span = this.tracer.attempt(call.target, this.req.attempts);
      this.req.callHeaders = span.headers;
    }
    this.handler.onStart(call);
  }

  onChunk(call: DispatchController<T>, c: UpstreamChunk): void {
    this.handler.onChunk(call, c);
  }

  onDone(call: DispatchController<T>): void {
    this.#span?.end();
    this.handler.onDone(call);
  }

  onCompletion(call: DispatchController<T>, c: UpstreamCompletion): void {
    this.#span?.end();
    this.handler.onCompletion(call, c);
  }

  onFailure(call: DispatchController<T>, f: UpstreamFailure): void {
    this.#span?.end(errorType(f), f.kind === 'status' ? f.status : undefined);
    this.handler.onFailure(call, f);
  }
}

/** `error.type` of a failed call: its HTTP status when it answered one, else how it failed. */
function errorType(f: UpstreamFailure): string {
  switch (f.kind) {
    case 'status': return String(f.status);
    case 'timeout': return `timeout_${f.phase}`;
    default: return f.kind;
  }
}
