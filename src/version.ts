import { createRequire } from 'node:module';

/**
 * KeyDesk's version, from package.json: sent to Graph in User-Agent and shown in the API docs.
 * createRequire rather than a JSON import: package.json lies outside the build's rootDir (src).
 */
export const KEYDESK_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
