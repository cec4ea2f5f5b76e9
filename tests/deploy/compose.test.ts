import { describe, expect, it, onTestFinished } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, type Env } from '../../src/config/config.js';
import { loadMigrateConfig } from '../../src/config/migrate-config.js';
import { MINIMAL_ENV } from '../helpers/config.js';

/**
 * compose.yaml, deploy/Caddyfile and deploy/postgres-roles.sh read as Compose, Caddy and the
 * postgres image would: no Docker here, so each file is parsed and held against KeyDesk's code.
 */

const ROOT = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string | string[];
  secrets?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
}

const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
/** The services that run this repository's image: the instances and the migrate job. */
const keydeskServices = Object.entries(services).filter(([, service]) => service.image === 'keydesk:local');
const instances = keydeskServices.filter(([, service]) => service.command === undefined);

/** Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?message}`, with `values` standing in for .env. */
function interpolate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) => {
    if (values[name] !== undefined) return values[name]!;
    if (kind === '-') return rest ?? '';
    throw new Error(`${name} is not set (${rest ?? 'no default'})`);
  });
}

/** The names of the variables Compose substitutes into `text`. */
function substituted(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((match) => match[1]!);
}

/** Every variable name KeyDesk's configuration (and db:migrate's) looks up. */
function variablesRead(): Set<string> {
  const seen = new Set<string>();
  const spy = (env: Env) =>
    new Proxy<Env>(env, {
      get(target, name) {
        if (typeof name === 'string') seen.add(name);
        return typeof name === 'string' ? target[name] : undefined;
      },
    });
  loadConfig(spy({ ...MINIMAL_ENV, PUBLIC_BASE_URL: 'https://keydesk.example', TRUST_PROXY_HOPS: '1', SESSION_SECRET: 'x'.repeat(32) }));
  loadMigrateConfig(spy({ DATABASE_MIGRATION_URL: 'postgres://owner@db/keydesk' }));
  return seen;
}

const SECRETS = { KEYDESK_APP_DB_PASSWORD: 'app-pw', KEYDESK_OWNER_DB_PASSWORD: 'owner-pw', POSTGRES_PASSWORD: 'super-pw', REDIS_PASSWORD: 'redis-pw' };

function environmentOf(name: string): Record<string, string> {
  const environment = services[name]!.environment ?? {};
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, interpolate(String(value), SECRETS)]));
}

/** `reverse_proxy a:8080 b:8080 {` and the directives in its block. */
function caddyProxy(): { upstreams: string[]; directives: Map<string, string> } {
  const caddyfile = read('deploy/Caddyfile').replace(/#.*$/gm, '');
  const match = /reverse_proxy\s+([^{\n]+)\{([^}]*)\}/.exec(caddyfile);
  if (match === null) throw new Error('no reverse_proxy block in deploy/Caddyfile');
  const directives = new Map(
    match[2]!
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((words) => words[0] !== '')
      .map((words) => [words[0]!, words.slice(1).join(' ')] as [string, string]),
  );
  return { upstreams: match[1]!.trim().split(/\s+/), directives };
}

describe('compose.yaml', () => {
  it('runs two KeyDesk instances and a migrate job from this repository\'s image', () => {
    expect(instances.map(([name]) => name).sort()).toEqual(['keydesk-1', 'keydesk-2']);
    expect(keydeskServices.map(([name]) => name)).toContain('migrate');
    for (const [, service] of keydeskServices) expect(service.build).toBe('.');
  });

  it('gives KeyDesk only variables its configuration reads', () => {
    const known = variablesRead();
    for (const [name, service] of keydeskServices) {
      for (const variable of Object.keys(service.environment ?? {})) expect(known, `${name}: ${variable}`).toContain(variable);
    }
  });

  it('gives each instance a configuration KeyDesk starts with, the signing key from its secret', async () => {
    // Compose mounts each of a service's secrets at /run/secrets/<name>; here a key of the test's own stands in.
    const dir = await mkdtemp(join(tmpdir(), 'keydesk-compose-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'audit-signing-key.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    for (const [name, service] of instances) {
      const environment = environmentOf(name);
      expect(service.secrets!.map((secret) => `/run/secrets/${secret}`)).toContain(environment.AUDIT_SIGNING_KEY_PATH);
      const config = loadConfig({ ...MINIMAL_ENV, SESSION_SECRET: 'x'.repeat(32), ...environment, AUDIT_SIGNING_KEY_PATH: keyFile });
      expect(config.audit.signingKey?.path).toBe(keyFile);
      expect(config.audit.store).toBe('postgres');
      expect(config.redis).not.toBeNull();
      expect(config.web?.publicBaseUrl).toBe('https://keydesk.localhost');
      // One proxy in front, whose X-Forwarded-For is the only one trusted.
      expect(config.trustProxyHops).toBe(1);
    }
  });

  it('keeps the schema owner\'s and the superuser\'s passwords out of the instances', () => {
    for (const [name, service] of instances) {
      const text = JSON.stringify(service.environment);
      expect(substituted(text), name).not.toContain('KEYDESK_OWNER_DB_PASSWORD');
      expect(substituted(text), name).not.toContain('POSTGRES_PASSWORD');
      expect(service.environment).not.toHaveProperty('DATABASE_MIGRATION_URL');
      // .env holds the passwords Compose substitutes: an env_file of .env would hand them all over.
      expect([service.env_file].flat()).not.toContain('.env');
    }
  });

  it('runs a migrate command that the build produces, as the schema owner, granting the instances\' role', () => {
    const migrate = services.migrate!;
    const [node, script, ...args] = migrate.command!;
    expect(node).toBe('node');
    expect(existsSync(join(ROOT, script!))).toBe(true);
    expect(existsSync(join(ROOT, script!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
    expect(JSON.parse(read('package.json')).scripts['db:migrate']).toBe(`node ${script}`);
    const runtimeUser = new URL(environmentOf('keydesk-1').DATABASE_URL!).username;
    expect(args).toEqual(['--grant', runtimeUser]);
    expect(loadMigrateConfig(environmentOf('migrate')).variable).toBe('DATABASE_MIGRATION_URL');
    for (const [name, service] of instances) expect(service.depends_on, name).toMatchObject({ migrate: { condition: 'service_completed_successfully' } });
  });

  it('checks each instance\'s health on /readyz at the port the image listens on', () => {
    const port = /PORT=(\d+)/.exec(read('Dockerfile'))![1];
    for (const [name, service] of instances) expect(service.healthcheck!.test.join(' '), name).toContain(`http://127.0.0.1:${port}/readyz`);
  });
});

describe('deploy/Caddyfile', () => {
  it('balances over every KeyDesk instance of compose.yaml, at the image\'s port, and only ready ones', () => {
    const { upstreams, directives } = caddyProxy();
    const port = /PORT=(\d+)/.exec(read('Dockerfile'))![1];
    expect(upstreams.sort()).toEqual(instances.map(([name]) => `${name}:${port}`).sort());
    expect(directives.get('health_uri')).toBe('/readyz');
  });
});

describe('deploy/postgres-roles.sh', () => {
  const script = read('deploy/postgres-roles.sh');
  /** role -> the environment variable its password comes from, through psql's -v. */
  const roles = new Map<string, string>();
  const psqlVariables = new Map([...script.matchAll(/-v (\w+)="\$(\w+)"/g)].map((match) => [match[1]!, match[2]!]));
  for (const match of script.matchAll(/CREATE ROLE (\w+) LOGIN PASSWORD :'(\w+)'/g)) roles.set(match[1]!, psqlVariables.get(match[2]!)!);

  it.each([
    ['DATABASE_URL', 'keydesk-1'],
    ['DATABASE_MIGRATION_URL', 'migrate'],
  ])('creates the role of %s (%s) with the password compose.yaml puts in that URL', (variable, service) => {
    const url = String(services[service]!.environment![variable]);
    const user = /^postgres:\/\/([^:]+):/.exec(url)![1]!;
    expect(roles.has(user), `${user} in postgres-roles.sh`).toBe(true);
    expect(substituted(url)).toEqual([roles.get(user)]);
    // The postgres image runs the script with its own environment: the password must be in it.
    expect(services.postgres!.environment).toHaveProperty(roles.get(user)!);
  });

  it('makes the schema owner and the runtime role two different roles', () => {
    const owner = new URL(environmentOf('migrate').DATABASE_MIGRATION_URL!).username;
    const runtime = new URL(environmentOf('keydesk-1').DATABASE_URL!).username;
    expect(owner).not.toBe(runtime);
    expect([...roles.keys()].sort()).toEqual([owner, runtime].sort());
  });
});
