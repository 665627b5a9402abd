import type { Clock } from '../time/index.js';
import type { RequestObserver } from './types.js';

/** The last minutes of traffic in short buckets: request rate, errors and latency, for the dashboard. */
export class TrafficWindow implements RequestObserver {
  constructor(readonly clock: Clock) {}

  settled(): void {} // STUB: H7
}
