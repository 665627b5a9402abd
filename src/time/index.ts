// time/ — the ports through which everything outside a process entry point reads time, waits, and
// draws randomness. The gateway hands out the wall implementation; the simulator hands out its
// agenda's virtual clock; a spec hands out a ManualTime. Code that takes these ports runs the same
// under all three, which is what lets the simulator measure the drivers production runs.
export type { Clock, Rng, TimePorts, TimerHandle, Timers } from './ports.js';
export { deadline, DeadlineExceeded, sleep, wall, wallClock, wallRng, wallTimers, withDeadline } from './wall.js';
export { ManualTime } from './manual.js';
