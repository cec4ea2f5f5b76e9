import csrfProtection from '@fastify/csrf-protection';
import type { FastifyCsrfProtectionOptions } from '@fastify/csrf-protection';

/** Every form carries a CSRF token (@fastify/csrf-protection) whose secret lives in the staff session. */
export const csrfOptions: FastifyCsrfProtectionOptions = { sessionPlugin: '@fastify/session' };

export default csrfProtection;
