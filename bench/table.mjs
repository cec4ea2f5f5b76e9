// The table `npm run bench -- --write` puts in bench/RESULTS.md.

const storeName = (r) => (r.store === 'file' ? 'file' : `PostgreSQL, ${r.workers} worker${r.workers > 1 ? 's' : ''}`);

/** KeyDesk's CPU: one process, or the primary + its workers. */
function keydeskCpu(cpu, workers) {
  if (workers === 1) return `${cpu.keydeskPrimary}`;
  return `${Math.round((cpu.keydeskPrimary + cpu.keydeskWorkers) * 10) / 10} (primary ${cpu.keydeskPrimary})`;
}

function rssOf(rss, workers) {
  if (workers === 1) return `${rss.primary}`;
  return `${Math.max(...rss.workers)} (workers ${rss.workers.join(', ')}; primary ${rss.primary})`;
}

/** How many, and the messages: `0`, or `12 (error: an alert rule could not be evaluated ×12)`. */
function problems(logged = {}) {
  const entries = Object.entries(logged);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return total === 0 ? '0' : `${total} (${entries.map(([message, n]) => `${message} ×${n}`).join('; ')})`;
}

function row(r) {
  const head = `| ${r.scenario} | ${storeName(r)} | ${r.connections} |`;
  if (r.skipped) return `${head} skipped: ${r.skipped} | | | | | | | | | | | | | | | |`;
  const cpu = r.cpuPercent;
  return (
    `${head} ${r.requestsPerSecond} | ${r.p50Ms} | ${r.keydeskP50Ms} | ${r.p99Ms} | ${r.graphRequestsPerRequest} | ${r.floorMs} | ${r.overheadP50Ms} | ` +
    `${keydeskCpu(cpu, r.workers)} | ${r.keydeskCpuMsPerRequest} | ${r.store === 'file' ? '—' : cpu.postgres} | ${cpu.simulatorAndLoad} | ${cpu.other} | ${rssOf(r.peakRssMb, r.workers)} | ${r.non2xx + r.errors} | ${problems(r.problemsLogged)} |`
  );
}

export function markdown(results, host) {
  const env = Object.entries(host.keydeskEnv).map(([name, value]) => `${name}=${value}`).join(' ');
  return [
    `Measured ${host.date} on ${host.cpu}, ${host.memory}, Linux ${host.kernel}, Node ${host.node}; ${host.seconds} s per scenario after a ${host.warmupSeconds} s warm-up; KeyDesk with the image's \`${env}\`.`,
    'CPU columns: share of all the host\'s cores over the timed run, from /proc (100 % = every core busy).',
    '',
    "| scenario | audit store | connections | req/s | p50 ms | KeyDesk's own p50 ms | p99 ms | Graph req per request | floor ms | p50 over floor ms | CPU % KeyDesk | KeyDesk CPU ms per request | CPU % PostgreSQL | CPU % simulator + autocannon | CPU % rest of host | peak RSS MB per KeyDesk process | failed | warnings + errors KeyDesk logged |",
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(row),
  ].join('\n');
}
