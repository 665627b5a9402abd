import type { Decision, Picker } from '../plugin.js';

/**
 * `round-robin-picker` (alias `round-robin`): survivor number `sequence mod survivors`, ignoring
 * scores, so successive requests visit the survivors in turn. Reads: `RouteRequest.sequence`. No parameters.
 */
export class RoundRobinPicker implements Picker {
  readonly type = 'round-robin-picker';

  pick(d: Decision): number {
    return d.pos[d.req.sequence % d.count];
  }
}
