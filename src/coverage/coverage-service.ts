import type { Logger } from 'pino';
import type { EscrowConfig } from '../config/escrow-config.js';
import type { TenantKeyList } from '../graph/tenant-key-list.js';
import type { KeyIndexStore } from '../key-index/types.js';
import { computeEscrowCoverage, type EscrowCoverageReport } from './escrow-coverage.js';
import type { CoverageDay, CoverageStore } from './store.js';

/**
 * Computes the escrow coverage report after a full sync of the key index (the key index calls it
 * on the instance that ran the sync) and serves the latest and the daily history from the store.
 */

export interface EscrowCoverage {
  /** Reads the tenant's devices and Intune's managed devices (paced), computes and stores the report. */
  compute(): Promise<EscrowCoverageReport>;
  latest(): Promise<EscrowCoverageReport | null>;
  history(): Promise<CoverageDay[]>;
}

export interface EscrowCoverageDeps {
  store: CoverageStore;
  index: Pick<KeyIndexStore, 'entries'>;
  list: Pick<TenantKeyList, 'readDevices' | 'readManagedDevices'>;
  thresholds: EscrowConfig;
  now: () => number;
  logger: Pick<Logger, 'info'>;
}

export function createEscrowCoverage(deps: EscrowCoverageDeps): EscrowCoverage {
  return {
    async compute() {
      const devices = await deps.list.readDevices();
      const managed = await deps.list.readManagedDevices();
      const report = computeEscrowCoverage({ entries: await deps.index.entries(), devices, managed, generatedAt: new Date(deps.now()).toISOString(), thresholds: deps.thresholds });
      await deps.store.save(report);
      deps.logger.info({ escrowCoverage: report.counts }, 'escrow coverage report computed');
      return report;
    },
    latest: () => deps.store.latest(),
    history: () => deps.store.history(),
  };
}
