import type { AdminView } from './api.js';

/** The dashboard's own read routes. STUB: H7 */
export function dashboardViews(_deps: unknown): AdminView[] {
  return [];
}
