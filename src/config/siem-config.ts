import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * SIEM forwarding: syslog over TCP or TLS (RFC 5424 framed by octet counting) and Splunk's HTTP
 * Event Collector. Both are off until their URL is set. The HEC token is a credential: it is
 * never put in a message.
 */

export interface SyslogTarget {
  protocol: 'tcp' | 'tls';
  host: string;
  port: number;
  /** PEM of the CA(s) that sign the receiver's certificate (SIEM_SYSLOG_CA_FILE); null: the system's CAs. */
  ca: string | null;
}

export interface SplunkHecTarget {
  /** `…/services/collector/event`. */
  url: string;
  token: string;
}

export interface SiemConfig {
  syslog: SyslogTarget | null;
  splunk: SplunkHecTarget | null;
}

/** What this file needs of config.ts's EnvReader; a structural type, so this file does not import config.ts back. */
export interface SiemEnvReader {
  text(name: string): string | undefined;
  problem(message: string): void;
}

export function readSiemConfig(reader: SiemEnvReader): SiemConfig {
  return { syslog: readSyslogTarget(reader), splunk: readSplunkHecTarget(reader) };
}

function readSyslogTarget(reader: SiemEnvReader): SyslogTarget | null {
  const raw = reader.text('SIEM_SYSLOG_URL');
  const caFile = reader.text('SIEM_SYSLOG_CA_FILE');
  if (raw === undefined) {
    if (caFile !== undefined) reader.problem('SIEM_SYSLOG_CA_FILE is set without SIEM_SYSLOG_URL: set SIEM_SYSLOG_URL=tls://<host>:<port> too, or remove SIEM_SYSLOG_CA_FILE');
    return null;
  }
  const how = 'use tcp://<host>:<port> or tls://<host>:<port> of the syslog receiver (RFC 5424 over TCP, octet-counted frames), e.g. tls://siem.contoso.com:6514';
  let url: URL;
  try {
    url = new URL(raw);
    if (url.protocol !== 'tcp:' && url.protocol !== 'tls:') throw new Error('scheme');
    if (url.port === '' || url.hostname === '' || url.username || url.password || url.search || url.hash || url.pathname.replace(/\/+$/, '') !== '') throw new Error('parts');
  } catch {
    reader.problem(`SIEM_SYSLOG_URL=${JSON.stringify(raw)} is not valid: ${how}`);
    return null;
  }
  const protocol = url.protocol === 'tls:' ? 'tls' : 'tcp';
  if (protocol === 'tcp' && caFile !== undefined) {
    reader.problem('SIEM_SYSLOG_CA_FILE is set but SIEM_SYSLOG_URL is tcp://, which sends in clear: use tls:// to have the CA checked, or remove SIEM_SYSLOG_CA_FILE');
  }
  const ca = protocol === 'tls' && caFile !== undefined ? readCaFile(reader, caFile) : null;
  return { protocol, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port), ca };
}

function readCaFile(reader: SiemEnvReader, path: string): string | null {
  const how = 'point it at a PEM file holding the certificate of the CA that signed the syslog receiver\'s certificate';
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    reader.problem(`SIEM_SYSLOG_CA_FILE=${JSON.stringify(path)} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ${how}`);
    return null;
  }
  const certificates = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (certificates.length === 0) throw new Error('none');
    for (const certificate of certificates) new X509Certificate(certificate);
  } catch {
    reader.problem(`SIEM_SYSLOG_CA_FILE=${JSON.stringify(path)} holds no readable PEM certificate: ${how}`);
    return null;
  }
  return certificates.join('\n');
}

function readSplunkHecTarget(reader: SiemEnvReader): SplunkHecTarget | null {
  const raw = reader.text('SIEM_SPLUNK_HEC_URL');
  const token = reader.text('SIEM_SPLUNK_HEC_TOKEN');
  if (raw === undefined) {
    if (token !== undefined) reader.problem('SIEM_SPLUNK_HEC_TOKEN is set without SIEM_SPLUNK_HEC_URL: set SIEM_SPLUNK_HEC_URL to the collector, e.g. https://splunk.contoso.com:8088/services/collector/event, or remove the token');
    return null;
  }
  const url = readHecUrl(reader, raw);
  if (token === undefined) {
    reader.problem('SIEM_SPLUNK_HEC_TOKEN is missing: SIEM_SPLUNK_HEC_URL is set; create an HTTP Event Collector token in Splunk (Settings > Data inputs > HTTP Event Collector) and set it here');
  } else if (/\s/.test(token)) {
    reader.problem('SIEM_SPLUNK_HEC_TOKEN is not valid: a HEC token has no spaces (copy the Token Value shown in Splunk)');
  }
  return url === null || token === undefined ? null : { url, token };
}

function readHecUrl(reader: SiemEnvReader, raw: string): string | null {
  const how = 'use the https URL of the HTTP Event Collector\'s event endpoint, e.g. https://splunk.contoso.com:8088/services/collector/event (plain http for a collector on the same host or private network)';
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    if (url.username || url.password || url.hash || !/\/services\/collector\/event(?:\/1\.0)?$/.test(url.pathname)) throw new Error('path');
    return url.toString();
  } catch {
    reader.problem(`SIEM_SPLUNK_HEC_URL=${JSON.stringify(raw)} is not valid: ${how}`);
    return null;
  }
}
