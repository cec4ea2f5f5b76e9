import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { query, runTool } from './audit-tools-kit.js';
import { disclose, grantableDisclosures, HMAC_KEY, sharedDatabase, startKeyDesk, type DisclosureAnswer, type DisclosureRequest } from './keydesk-processes.js';

/**
 * Two KeyDesk processes on one PostgreSQL trail, as two instances behind a load balancer: one
 * gap-free chain whoever writes, and no granted key without its committed record, even when an
 * instance is killed mid-load.
 */

describe('two KeyDesk processes on one PostgreSQL audit trail', () => {
  let tenant: SimulatedTenant;
  let token: string;
  let targets: DisclosureRequest[];

  beforeAll(async () => {
    tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    token = await tenant.issueAppToken(tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Disclose'))!.clientId);
    targets = grantableDisclosures(tenant.directory);
  });
  afterAll(async () => {
    await tenant.close();
  });

  const grantedIds = async (database: Parameters<typeof query>[0]) =>
    new Set((await query<{ id: string }>(database, `SELECT disclosure_id AS id FROM keydesk.audit_records WHERE action = 'disclosure' AND outcome = 'granted'`)).map((row) => row.id));

  it('writes 200 concurrent cold disclosures split across both as 400 records in one gap-free chain that verifies', async () => {
    const { database, runtimeUrl } = await sharedDatabase();
    const instances = await Promise.all([startKeyDesk('a', tenant, runtimeUrl), startKeyDesk('b', tenant, runtimeUrl)]);
    // Cold: neither instance has resolved a device yet, so both event loops are busiest while the
    // appends race for the chain head (whose row lock is held only inside the server).
    const devices = targets.slice(0, 50);

    const answers = await Promise.all(Array.from({ length: 200 }, (_, n) => disclose(instances[n % 2]!.url, token, devices[n % devices.length]!)));

    expect(answers.map((answer) => answer.status)).toEqual(Array(200).fill(201));
    const ids = answers.map((answer) => answer.disclosureId!.toLowerCase());
    expect(await query(database, 'SELECT count(*)::int AS records, count(DISTINCT seq)::int AS seqs, min(seq)::int AS first, max(seq)::int AS last FROM keydesk.audit_records')).toEqual([
      { records: 400, seqs: 400, first: 1, last: 400 },
    ]);
    const burst = await query<{ action: string; n: number }>(
      database,
      `SELECT action || ':' || outcome AS action, count(*)::int AS n FROM keydesk.audit_records WHERE disclosure_id = ANY($1) GROUP BY 1 ORDER BY 1`,
      [ids],
    );
    expect(burst).toEqual([
      { action: 'disclosure:granted', n: 200 },
      { action: 'disclosure_intent:pending', n: 200 },
    ]);
    const verified = await runTool('verify', ['--database-url', database.url], { AUDIT_HMAC_KEY: HMAC_KEY });
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^audit trail intact: 400 records, head seq 400 hash [0-9a-f]{64}\n/);
    for (const instance of instances) expect(await instance.stop()).toBe(0);
  });

  it("keeps every granted key's record when one instance is killed -9 under load, and the other goes on serving", async () => {
    const { database, runtimeUrl } = await sharedDatabase();
    const [doomed, survivor] = await Promise.all([startKeyDesk('doomed', tenant, runtimeUrl), startKeyDesk('survivor', tenant, runtimeUrl)]);
    const answers: (DisclosureAnswer & { instance: string; afterKill: boolean })[] = [];
    let killed = false;
    let next = 0;
    const stopAt = Date.now() + 4_000;

    // Sixteen clients, half on each instance; a client whose instance is gone moves to the other, as a load balancer would.
    const client = async (home: typeof doomed) => {
      let instance = home;
      while (Date.now() < stopAt) {
        const afterKill = killed;
        const answer = await disclose(instance.url, token, targets[next++ % targets.length]!);
        answers.push({ ...answer, instance: instance.name, afterKill });
        if (answer.status === 0) instance = survivor;
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, n) => client(n % 2 === 0 ? doomed : survivor)));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    doomed.child.kill('SIGKILL');
    killed = true;
    // Read in one snapshot, the trail verifies while the survivor goes on appending to it.
    const whileLoaded = await runTool('verify', ['--database-url', database.url], { AUDIT_HMAC_KEY: HMAC_KEY });
    await load;
    expect(whileLoaded).toMatchObject({ code: 0, stderr: '' });

    expect(await doomed.exited).toBeNull();
    const delivered = answers.filter((answer) => answer.status === 201);
    expect(delivered.filter((answer) => answer.instance === 'doomed').length).toBeGreaterThan(0);
    expect(delivered.filter((answer) => answer.instance === 'survivor' && answer.afterKill).length).toBeGreaterThan(0);
    // The survivor answers every disclosure: only the killed instance's connections fail.
    expect(answers.filter((answer) => answer.instance === 'survivor').every((answer) => answer.status === 201)).toBe(true);
    const granted = await grantedIds(database);
    expect(delivered.filter((answer) => !granted.has(answer.disclosureId!.toLowerCase()))).toEqual([]);

    const verified = await runTool('verify', ['--database-url', database.url], { AUDIT_HMAC_KEY: HMAC_KEY });
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect((await disclose(survivor.url, token, targets[0]!)).status).toBe(201);
    expect((await fetch(`${survivor.url}/readyz`)).status).toBe(200);
  });
});
