import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { startSimulatedTenant, type SimulatedTenant } from '../../simulator/index.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { SIMULATOR_DIR } from '../global-setup.js';
import { freePort } from '../helpers/net.js';
import { ARTIFACTS_DIR } from '../helpers/secret-scan.js';

/**
 * Real-browser end-to-end tests: the simulated tenant (HTTPS, local CA), a real listening KeyDesk
 * (startServer, real logger and audit file under test-artifacts/ for the secret scan) and
 * Debian's Chromium driven by playwright-core. Browser tests are *.browser.test.ts files here.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOTS_DIR = join(ARTIFACTS_DIR, 'screenshots');
const SESSION_SECRET = 'a-browser-test-session-secret-of-more-than-32-characters';
/** Every wait in a browser test: a hung page fails the test instead of the run. */
export const BROWSER_STEP_MS = 15_000;

/** A phone (an iPhone 12 to 15's CSS viewport), a tablet on its side (the narrowest screen with tables) and a laptop. */
export const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  tablet: { viewport: { width: 1024, height: 768 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
  desktop: { viewport: { width: 1280, height: 800 } },
} as const;

/**
 * Skipped only on a developer machine without Chromium; in CI (.ci/run installs it) a missing
 * browser fails the run rather than skipping it silently.
 */
export const skipBrowserTests = !existsSync(CHROMIUM_PATH) && !process.env.CI;
if (skipBrowserTests) {
  console.error(`browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium); in CI they run`);
}

/**
 * Chromium trusts exactly the simulator's server key (pinned by SPKI hash) rather than every bad
 * certificate: a KeyDesk page served with a broken certificate would still fail.
 */
function serverSpkiPin(serverCertPath: string): string {
  const spki = new X509Certificate(readFileSync(serverCertPath)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export interface BrowserKit {
  tenant: SimulatedTenant;
  keydesk: RunningServer;
  browser: Browser;
  /** KeyDesk's base URL, http://127.0.0.1:<port>. */
  baseUrl: string;
  auditRecords(): AuditRecord[];
  /**
   * A fresh browser profile (cookies, Entra session) with bounded waits. `consoleErrors` collects
   * what the browser complains about: CSP violations, script errors, stylesheets or images that
   * failed to load.
   */
  newPage(options?: { viewport?: keyof typeof VIEWPORTS; javaScript?: boolean }): Promise<{ context: BrowserContext; page: Page; consoleErrors: string[] }>;
  /**
   * Signs in as a person would: opens `path` on KeyDesk, is sent to the simulated sign-in page,
   * clicks the persona (its label), clicks "Sign in", and lands back on KeyDesk: on the page
   * returned to, or on the callback's own page when it refuses the sign-in. Resolves to the
   * callback's status (302 for a sign-in).
   */
  signIn(page: Page, personaUpn: string, options?: { path?: string; screenshotSignInPage?: string }): Promise<number>;
  close(): Promise<void>;
}

export interface BrowserKitOptions {
  /** Extra KeyDesk environment (e.g. KEY_DISPLAY_SECONDS), applied over the kit's own. */
  env?: Record<string, string>;
}

export async function startBrowserKit(name: string, options: BrowserKitOptions = {}): Promise<BrowserKit> {
  const runId = `${name}-${randomUUID().slice(0, 8)}`;
  for (const kind of ['logs', 'audit', 'screenshots']) mkdirSync(join(ARTIFACTS_DIR, kind), { recursive: true });
  const auditFile = join(ARTIFACTS_DIR, 'audit', `${runId}.jsonl`);

  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch((error: unknown) => console.error('browser kit teardown:', error));
    closers.length = 0;
  };
  try {
    const tenant = await startSimulatedTenant({ dataDir: SIMULATOR_DIR });
    closers.push(() => tenant.close());

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const config = loadConfig({
      ...tenant.keydeskEnvironment(),
      PUBLIC_BASE_URL: baseUrl,
      SESSION_SECRET,
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_FILE: auditFile,
      LOG_LEVEL: 'debug',
      ...options.env,
    });
    const logger = createLogger(config.logLevel, pino.destination({ dest: join(ARTIFACTS_DIR, 'logs', `${runId}.log`), sync: true }));
    const keydesk = await startServer(config, { logger, handleSignals: false });
    closers.push(() => keydesk.stop());

    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      timeout: 30_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        `--ignore-certificate-errors-spki-list=${serverSpkiPin(join(SIMULATOR_DIR, 'server.crt'))}`,
      ],
    });
    // browser.close() ends the Chromium process tree playwright-core started.
    closers.push(() => browser.close());

    return {
      tenant,
      keydesk,
      browser,
      baseUrl,
      auditRecords() {
        try {
          return readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord);
        } catch {
          return [];
        }
      },
      async newPage({ viewport = 'desktop', javaScript = true } = {}) {
        const context = await browser.newContext({ baseURL: baseUrl, ...VIEWPORTS[viewport], javaScriptEnabled: javaScript });
        context.setDefaultTimeout(BROWSER_STEP_MS);
        context.setDefaultNavigationTimeout(BROWSER_STEP_MS);
        closers.push(() => context.close());
        const page = await context.newPage();
        const consoleErrors: string[] = [];
        // A refused page (403) is the document itself, asserted by status; the browser's own
        // favicon request is no page's doing.
        const counts = (url: string, kind: string) => kind !== 'document' && new URL(url).pathname !== '/favicon.ico';
        page.on('console', (message) => {
          if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(`${page.url()}: ${message.text()}`);
        });
        page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
        page.on('response', (response) => {
          if (response.status() >= 400 && counts(response.url(), response.request().resourceType())) consoleErrors.push(`${response.url()}: HTTP ${response.status()}`);
        });
        page.on('requestfailed', (request) => {
          if (counts(request.url(), request.resourceType())) consoleErrors.push(`${request.url()}: ${request.failure()?.errorText ?? 'failed'}`);
        });
        return { context, page, consoleErrors };
      },
      async signIn(page, personaUpn, { path = '/', screenshotSignInPage } = {}) {
        const persona = [...tenant.staff, ...tenant.employees].find((s) => s.upn === personaUpn);
        if (!persona) throw new Error(`the simulated tenant has no persona ${personaUpn}`);
        await page.goto(path);
        await page.waitForURL((url) => url.href.startsWith(tenant.authorityHost));
        await page.getByRole('heading', { name: /^Sign in to / }).waitFor();
        if (screenshotSignInPage) await screenshot(page, screenshotSignInPage);
        await page.locator('label', { hasText: persona.upn }).click();
        if (!(await page.getByRole('radio', { name: persona.name }).isChecked())) throw new Error(`clicking ${persona.name} did not select the persona`);
        const callback = page.waitForResponse((response) => response.url().startsWith(`${baseUrl}/auth/callback`));
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        const status = (await callback).status();
        if (status === 302) await page.waitForURL((url) => url.href.startsWith(baseUrl) && !url.pathname.startsWith('/auth/callback'));
        else await page.waitForLoadState();
        return status;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Saves a full-page PNG to test-artifacts/screenshots/<name>.png; `mask` covers elements (e.g. a password) with a box. */
export async function screenshot(page: Page, name: string, options: { mask?: Locator[] } = {}): Promise<string> {
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, ...(options.mask ? { mask: options.mask, maskColor: '#5a6b7d' } : {}) });
  return path;
}

export interface HorizontalOverflow {
  /** The document's width, the window's and the layout viewport's (CSS pixels). */
  scrollWidth: number;
  innerWidth: number;
  clientWidth: number;
  /** Elements whose right edge lies beyond the viewport, as tag.class#id, for the failure message. */
  beyond: string[];
}

/**
 * How far a page reaches past the viewport's right edge. A string expression: the tests compile
 * without the DOM lib. A phone browser zooms out to fit a page that is too wide, which widens
 * `innerWidth` with it, so elements are measured against the layout viewport (`clientWidth`).
 */
export async function horizontalOverflow(page: Page): Promise<HorizontalOverflow> {
  return page.evaluate<HorizontalOverflow>(`(() => {
    const root = document.documentElement;
    const edge = root.clientWidth;
    const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.classList.length ? '.' + [...el.classList].join('.') : '');
    const beyond = [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > edge + 0.5 && el.getClientRects().length > 0).map(name);
    return { scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, clientWidth: edge, beyond };
  })()`);
}
