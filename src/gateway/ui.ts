import type { UiHandler } from './server.js';

/** The dashboard's files under /ui (web/). STUB: H4 */
export function createUi(): UiHandler {
  return (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not built yet\n');
  };
}
