import type { Decision, Picker } from '../plugin.js';

/**
 * `random-picker` (alias `random`): a uniformly random survivor, ignoring scores. Reads:
 * `RouteRequest.random`. No parameters.
 */
export class RandomPicker implements Picker {
  readonly type = 'random-picker';

  pick(d: Decision): number {
    return d.pos[Math.floor(d.req.random * d.count)];
  }
}
