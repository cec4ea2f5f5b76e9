// What each process of a scenario costs: CPU time from /proc/<pid>/stat (utime + stime, all the
// process's threads) between two samples, as a share of the host's cores, and peak RSS (VmHWM)
// from /proc/<pid>/status. Linux only, like the rest of the bench.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';

const CORES = cpus().length;
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds a process has used so far (0 once it is gone). */
export function cpuSeconds(pid) {
  try {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The host's busy and total CPU seconds (all cores) from /proc/stat. */
function hostSeconds() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / TICKS_PER_SECOND, total: (busy + idle + iowait) / TICKS_PER_SECOND };
}

/** Peak resident set size of a process in MB (VmHWM), or null once it is gone. */
export function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(status.match(/VmHWM:\s+(\d+) kB/)[1]) / 1024);
  } catch {
    return null;
  }
}

/** The live child processes of `pid` (the workers of a cluster primary). */
export function childPids(pid) {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return children.sort((a, b) => a - b);
}

/**
 * Starts measuring. `groups` maps a name to a function returning that group's pids now; a group's
 * pids are asked again at the end, and a pid that appeared meanwhile counts from zero.
 * `stop()` returns each group's CPU seconds and share of all cores in percent over the interval,
 * plus `other`: what the rest of the host used (the kernel's own work, anything else running).
 */
export async function startUsage(groups) {
  const started = performance.now();
  const host = hostSeconds();
  const before = new Map();
  for (const [name, pids] of Object.entries(groups)) {
    before.set(name, new Map((await pids()).map((pid) => [pid, cpuSeconds(pid)])));
  }
  return {
    async stop() {
      const wall = (performance.now() - started) / 1000;
      const hostNow = hostSeconds();
      const share = (seconds) => Math.round((seconds / (wall * CORES)) * 1000) / 10;
      const shares = {};
      const seconds = {};
      let ours = 0;
      for (const [name, pids] of Object.entries(groups)) {
        const start = before.get(name);
        const now = new Set([...start.keys(), ...(await pids())]);
        const used = [...now].reduce((sum, pid) => sum + Math.max(0, cpuSeconds(pid) - (start.get(pid) ?? 0)), 0);
        ours += used;
        shares[name] = share(used);
        seconds[name] = used;
      }
      const busy = hostNow.busy - host.busy;
      shares.other = share(Math.max(0, busy - ours));
      shares.hostBusy = share(busy);
      return { percent: shares, seconds };
    },
  };
}

/**
 * Waits (at most `maxMs`) for a second in which the host is nearly idle, so a scenario does not
 * start while something else (a build, a test suite) has the cores; returns the last second's
 * busy share in percent, which the caller reports when it is not low.
 */
export async function waitForQuietHost(maxMs = 60_000, quietPercent = 10) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const before = hostSeconds();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = hostSeconds();
    const busy = Math.round(((after.busy - before.busy) / (after.total - before.total)) * 100);
    if (busy <= quietPercent || Date.now() >= deadline) return busy;
  }
}

export { CORES };
