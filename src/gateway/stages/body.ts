import type { GatewayError } from '../../api/index.js';
import type { BodyReader, BodyResult } from '../body.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../pipeline.js';
import { jsonMediaError } from '../request-head.js';

/**
 * What a body stage refuses with when the client left before its body arrived: nobody hears it,
 * but the request is settled as cancelled like any other that lost its client.
 */
export const CLIENT_LEFT: GatewayError = { kind: 'invalid_request', message: 'the client closed the connection before its body arrived' };

export interface ReadBodyDeps {
  readonly bodies: Pick<BodyReader, 'read' | 'refusal'>;
  readonly limitBytes: number;
}

/** A JSON body (by its content-type, when it says one), read whole within its limit and deadline → `cx.body`. */
export function readBody(d: ReadBodyDeps): Stage {
  function conclude(cx: RequestContext, read: BodyResult): GatewayError | null {
    if (read.ok) {
      cx.body = read.body;
      return null;
    }
    return d.bodies.refusal(cx.res, read, d.limitBytes) ?? CLIENT_LEFT;
  }
  return (cx) => {
    // refused before a byte is read (the refusal drops the body)
    const media = jsonMediaError(cx.req);
    if (media !== null) return media;
    cx.phase = 'body';
    return d.bodies.read(cx.req, d.limitBytes).then((read) => conclude(cx, read));
  };
}
