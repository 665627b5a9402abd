import type { AdminView } from './api.js';

/** GET /admin/v1/slo. STUB: H3 */
export function sloView(_tracker: unknown): AdminView {
  return { matches: () => false, handle: () => ({ status: 404, body: '{}' }) };
}
