// admission/ — who a pool runs now, who waits in which order, and who is turned away. Pure.
export { admissionPolicy, admissionSchema, DISCIPLINES, isPriority, PRIORITIES } from './policy.js';
export type { AdmissionPolicy, AdmissionPolicyInput, Discipline, Priority } from './policy.js';
export { PoolQueue } from './pool-queue.js';
export type { Arrival, Held, Offer, ShedReason } from './pool-queue.js';
