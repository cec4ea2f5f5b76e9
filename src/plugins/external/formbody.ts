import formbody from '@fastify/formbody';

/** HTML form posts (@fastify/formbody), for the web UI's routes only. */
export default formbody;
