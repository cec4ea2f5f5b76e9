import cookie from '@fastify/cookie';

/** Cookies (@fastify/cookie), for the web UI's session and its pending sign-in; the API never sets one. */
export default cookie;
