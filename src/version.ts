import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * KeyDesk's version, from package.json: sent to Graph in User-Agent and shown in the API docs.
 * Read from the nearest package.json above this module, which sits one folder up in the sources
 * (src/) and two in the build (dist/src/).
 */
function readVersion(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'keydesk' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // not here; look one folder up
    }
    if (dirname(dir) === dir) throw new Error('KeyDesk cannot find its package.json');
  }
}

export const KEYDESK_VERSION: string = readVersion();
