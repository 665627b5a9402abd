// admission/ — who a model's replicas run now, who waits in which order, and who is turned away: the pure
// admission queue, and the driver the gateway and the simulator both run it with.
export { admissionPolicy, admissionSchema, DISCIPLINES, isPriority, PRIORITIES } from './policy.js';
export type { AdmissionPolicy, AdmissionPolicyInput, Discipline, Priority } from './policy.js';
export { AdmissionQueue } from './admission-queue.js';
export type { Entrant, Held, Offer, ShedReason } from './admission-queue.js';
export { AdmissionDriver, deadlineMs } from './driver.js';
export type { AdmissionAsk, AdmissionDriverOptions, AdmissionHooks, Grant, Shed, Waiter } from './driver.js';
