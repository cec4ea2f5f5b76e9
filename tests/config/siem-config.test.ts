import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import selfsigned from 'selfsigned';
import { configProblems, MINIMAL_ENV, testConfig } from '../helpers/config.js';

const HEC = 'https://splunk.contoso.com:8088/services/collector/event';

function problems(env: Record<string, string>): string[] {
  return configProblems({ ...MINIMAL_ENV, ...env });
}

describe('SIEM configuration', () => {
  it('leaves both SIEM targets off by default', () => {
    expect(testConfig().siem).toEqual({ syslog: null, splunk: null });
  });

  it('reads a tcp:// and a tls:// syslog receiver, with the CA file for TLS', async () => {
    const ca = await selfsigned.generate([{ name: 'commonName', value: 'SIEM CA' }], { keyType: 'ec', extensions: [{ name: 'basicConstraints', cA: true }] });
    const caFile = join(mkdtempSync(join(tmpdir(), 'keydesk-siem-config-')), 'ca.pem');
    writeFileSync(caFile, ca.cert);
    expect(testConfig({ SIEM_SYSLOG_URL: 'tcp://siem.contoso.com:514' }).siem.syslog).toEqual({ protocol: 'tcp', host: 'siem.contoso.com', port: 514, ca: null });
    expect(testConfig({ SIEM_SYSLOG_URL: 'tls://siem.contoso.com:6514', SIEM_SYSLOG_CA_FILE: caFile }).siem.syslog).toEqual({ protocol: 'tls', host: 'siem.contoso.com', port: 6514, ca: ca.cert.trim() });
    expect(testConfig({ SIEM_SYSLOG_URL: 'tls://[::1]:6514' }).siem.syslog).toMatchObject({ host: '::1', ca: null });
  });

  it('refuses a syslog URL of another scheme or without a port, a CA file that cannot be read or holds no certificate, and a CA file with tcp://', () => {
    const notPem = join(mkdtempSync(join(tmpdir(), 'keydesk-siem-config-')), 'not.pem');
    writeFileSync(notPem, 'hello');
    expect(problems({ SIEM_SYSLOG_URL: 'udp://siem.contoso.com:514' })).toEqual([expect.stringMatching(/^SIEM_SYSLOG_URL="udp:\/\/siem\.contoso\.com:514" is not valid: use tcp:\/\/<host>:<port> or tls:\/\/<host>:<port>/)]);
    expect(problems({ SIEM_SYSLOG_URL: 'tls://siem.contoso.com' })).toEqual([expect.stringMatching(/^SIEM_SYSLOG_URL=.* is not valid/)]);
    expect(problems({ SIEM_SYSLOG_URL: 'tls://siem.contoso.com:6514', SIEM_SYSLOG_CA_FILE: '/nonexistent/ca.pem' })).toEqual([expect.stringMatching(/^SIEM_SYSLOG_CA_FILE="\/nonexistent\/ca\.pem" cannot be read \(ENOENT\)/)]);
    expect(problems({ SIEM_SYSLOG_URL: 'tls://siem.contoso.com:6514', SIEM_SYSLOG_CA_FILE: notPem })).toEqual([expect.stringMatching(/^SIEM_SYSLOG_CA_FILE=.* holds no readable PEM certificate/)]);
    expect(problems({ SIEM_SYSLOG_URL: 'tcp://siem.contoso.com:514', SIEM_SYSLOG_CA_FILE: notPem })).toEqual([expect.stringMatching(/^SIEM_SYSLOG_CA_FILE is set but SIEM_SYSLOG_URL is tcp:\/\//)]);
    expect(problems({ SIEM_SYSLOG_CA_FILE: notPem })).toEqual([expect.stringMatching(/^SIEM_SYSLOG_CA_FILE is set without SIEM_SYSLOG_URL/)]);
  });

  it('reads the Splunk HEC URL and token', () => {
    expect(testConfig({ SIEM_SPLUNK_HEC_URL: HEC, SIEM_SPLUNK_HEC_TOKEN: 'abc-123' }).siem.splunk).toEqual({ url: HEC, token: 'abc-123' });
    expect(testConfig({ SIEM_SPLUNK_HEC_URL: 'http://127.0.0.1:8088/services/collector/event', SIEM_SPLUNK_HEC_TOKEN: 't' }).siem.splunk?.url).toBe('http://127.0.0.1:8088/services/collector/event');
  });

  it('takes plain http (start-up warns off loopback) but refuses another scheme, another path, a URL without a token and a token without a URL, never quoting the token', () => {
    expect(problems({ SIEM_SPLUNK_HEC_URL: 'http://splunk.contoso.com:8088/services/collector/event', SIEM_SPLUNK_HEC_TOKEN: 'sekrit-token' })).toEqual([]);
    expect(problems({ SIEM_SPLUNK_HEC_URL: 'ftp://splunk.contoso.com:8088/services/collector/event', SIEM_SPLUNK_HEC_TOKEN: 'sekrit-token' })).toEqual([
      expect.stringMatching(/^SIEM_SPLUNK_HEC_URL=.* is not valid: use the https URL/),
    ]);
    expect(problems({ SIEM_SPLUNK_HEC_URL: 'https://splunk.contoso.com:8088/services/collector/raw', SIEM_SPLUNK_HEC_TOKEN: 'sekrit-token' })).toEqual([expect.stringMatching(/^SIEM_SPLUNK_HEC_URL=/)]);
    expect(problems({ SIEM_SPLUNK_HEC_URL: HEC })).toEqual([expect.stringMatching(/^SIEM_SPLUNK_HEC_TOKEN is missing/)]);
    expect(problems({ SIEM_SPLUNK_HEC_TOKEN: 'sekrit-token' })).toEqual([expect.stringMatching(/^SIEM_SPLUNK_HEC_TOKEN is set without SIEM_SPLUNK_HEC_URL/)]);
    expect(problems({ SIEM_SPLUNK_HEC_URL: HEC, SIEM_SPLUNK_HEC_TOKEN: 'two words' })).toEqual([expect.stringMatching(/^SIEM_SPLUNK_HEC_TOKEN is not valid/)]);
    for (const problem of problems({ SIEM_SPLUNK_HEC_URL: 'ftp://x', SIEM_SPLUNK_HEC_TOKEN: 'sekrit-token' })) expect(problem).not.toContain('sekrit-token');
  });
});
