import type { GatewayError } from '../../api/index.js';
import { ACCEPTED_CODINGS, bodyCoding, decodeBody, type BodyCoding, type BodyReader, type BodyResult } from '../body.js';
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

/**
 * A JSON body (by its content-type, when it says one), read whole within its limit and deadline,
 * and decoded when its content-encoding says gzip, deflate or br (the limit applies to the decoded
 * body too) → `cx.body`.
 */
export function readBody(d: ReadBodyDeps): Stage {
  function conclude(cx: RequestContext, read: BodyResult, coding: BodyCoding | null): GatewayError | null | Promise<GatewayError | null> {
    if (!read.ok) return d.bodies.refusal(cx.res, read, d.limitBytes) ?? CLIENT_LEFT;
    if (coding === null) {
      cx.body = read.body;
      return null;
    }
    return decodeBody(read.body, coding, d.limitBytes).then((decoded) => {
      if (!decoded.ok) return decoded.error;
      cx.body = decoded.body;
      return null;
    });
  }
  return (cx) => {
    // refused before a byte is read (the refusal drops the body)
    const media = jsonMediaError(cx.req);
    if (media !== null) return media;
    const coding = bodyCoding(cx.req.headers['content-encoding']);
    if (!coding.ok) {
      cx.res.setHeader('accept-encoding', ACCEPTED_CODINGS);
      return coding.error;
    }
    cx.phase = 'body';
    return d.bodies.read(cx.req, d.limitBytes).then((read) => conclude(cx, read, coding.coding));
  };
}
