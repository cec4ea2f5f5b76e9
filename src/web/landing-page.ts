import type { FastifyInstance } from 'fastify';
import { html } from './html.js';
import { layout } from './pages.js';

/** The page a signed-in staff member lands on. (The device search replaces its body.) */
export default async function landingPage(app: FastifyInstance): Promise<void> {
  app.get('/', { schema: { hide: true }, preHandler: app.requireStaff() }, async (request, reply) => {
    const staff = request.staff!;
    const body = html`<h1>KeyDesk</h1>
<p>Welcome, ${staff.name}. Your KeyDesk roles: ${staff.roles.join(', ')}.</p>`;
    return reply.type('text/html; charset=utf-8').send(layout({ title: 'Home', staff, body }));
  });
}
