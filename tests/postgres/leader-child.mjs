// A process that takes part in the leader election on a database, for the election's tests:
// node leader-child.mjs <database url>. Prints "leader" when it becomes the leader and
// "follower" when it stops being one; runs until killed.
import { startLeaderElection } from '../../dist/src/jobs/leader.js';

const quiet = { info() {}, warn() {}, error() {} };
const election = startLeaderElection({ databaseUrl: process.argv[2], logger: quiet });
election.onChange((leader) => process.stdout.write(leader ? 'leader\n' : 'follower\n'));
process.stdout.write('started\n');
// The election's timers do not keep a process alive; a server would.
setInterval(() => undefined, 60_000);
