import { describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';
import { freePort } from '../helpers/net.js';
import { verifyAuditFile } from '../../src/audit/verify.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';

const ROOT = join(import.meta.dirname, '..', '..');
const DEMO = join(ROOT, 'dist', 'simulator', 'demo', 'main.js');

describe('npm run demo', () => {
  it('starts KeyDesk on the simulated tenant, and its printed curl sequence discloses a key', async () => {
    const port = await freePort();
    const dir = join(ARTIFACTS_DIR, 'demo');
    // A shell with production settings exported: the demo must keep to its own file trail and
    // memory (these point nowhere, so honouring any of them would stop it starting).
    const production = { AUDIT_STORE: 'postgres', DATABASE_URL: 'postgres://demo@127.0.0.1:1/not-the-demo', REDIS_URL: 'redis://127.0.0.1:1', WORKERS: '4' };
    const child = spawn(process.execPath, [DEMO], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PORT: String(port), KEYDESK_DEMO_DIR: dir, ...production } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await expect.poll(() => output, { timeout: 30_000, interval: 100 }).toContain('Ctrl+C stops the demo');
      expect(output).toContain('KeyDesk DEMO');
      expect(output).toContain(`http://127.0.0.1:${port}`);

      // Every path it prints is absolute, so it can be pasted from any folder; the browser hint names the README section.
      const printed = ['Its CA', 'Audit trail', 'KeyDesk log'].map((label) => new RegExp(`^  ${label} +(.+)$`, 'm').exec(output)?.[1]);
      expect(printed).toEqual([join(dir, 'simulator', 'ca.crt'), join(dir, 'audit.jsonl'), join(dir, 'keydesk.log')]);
      for (const path of printed) expect(isAbsolute(path!)).toBe(true);
      expect(output).toMatch(/^ {2}In a browser .*https:\/\/localhost:\d+.*"Trusting the demo's CA in a browser" in README\.md/m);
      expect(output).toContain(`--cacert ${join(dir, 'simulator', 'ca.crt')} `);
      expect(output).toContain(`AUDIT_HMAC_KEY=$(cat ${join(dir, 'audit-hmac.key')}) npm run audit:verify -- ${join(dir, 'audit.jsonl')}`);
      // Its folders are 0700 and every key file it holds is 0600.
      for (const folder of [dir, join(dir, 'simulator')]) expect(statSync(folder).mode & 0o777, folder).toBe(0o700);
      const keyFiles = [join(dir, 'audit-hmac.key'), join(dir, 'keydesk.log'), ...readdirSync(join(dir, 'simulator')).filter((f) => /\.(key|pem)$/.test(f) && f !== 'ca-bundle.pem').map((f) => join(dir, 'simulator', f))];
      expect(keyFiles.length).toBeGreaterThanOrEqual(6);
      for (const file of keyFiles) expect(statSync(file).mode & 0o777, file).toBe(0o600);

      // Paste the printed lines into a shell, as the README tells a new user to.
      const script = output.slice(output.indexOf('Try it (paste into a shell):') + 'Try it (paste into a shell):'.length, output.indexOf('Then check the audit trail'));
      const result = execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: ROOT, encoding: 'utf8' });
      const answers = result
        .split(/\n(?=\{)/)
        .map((chunk) => chunk.trim())
        .filter(Boolean)
        .map((chunk) => JSON.parse(chunk) as Record<string, unknown>);
      expect(answers).toHaveLength(3);
      expect(answers[0]).toMatchObject({ devices: [expect.objectContaining({ displayName: expect.any(String) })] });
      expect(answers[1]).toMatchObject({ recoveryKeys: expect.any(Array) });
      expect(answers[2]).toMatchObject({ disclosureId: expect.any(String), recoveryKey: { key: expect.stringMatching(/^\d{6}(-\d{6}){7}$/) } });
      await expect.poll(() => output, { timeout: 5_000 }).toContain('disclosure granted');

      const headers = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(headers.headers.get('x-keydesk-demo')).toMatch(/simulated tenant/);

      // The web UI is on, and its pages say they are a demo where a person looks.
      const home = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
      expect(home.status).toBe(302);
      expect(home.headers.get('location')).toMatch(/^\/auth\/sign-in/);
      const page = await (await fetch(`http://127.0.0.1:${port}/auth/signed-out`)).text();
      expect(page).toContain('class="demo-banner"');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    const hmacKey = Buffer.from(readFileSync(join(dir, 'audit-hmac.key'), 'utf8').trim());
    expect(await verifyAuditFile(join(dir, 'audit.jsonl'), hmacKey)).toMatchObject({ ok: true, records: 2 });
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('refuses to run with NODE_ENV=production', () => {
    const result = spawnSync(process.execPath, [DEMO], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/refuses to run with NODE_ENV=production/);
  });
});
