// CPU time of processes, read from /proc (Linux only). Two readings per process:
// - ticks: utime + stime from /proc/<pid>/stat, in clock ticks (getconf CLK_TCK, usually 100/s);
//   the figure the brief asks for, coarse (10 ms) but exact over a long enough window;
// - ns: the sum of /proc/<pid>/task/*/schedstat run time over all threads, in nanoseconds; a
//   finer cross-check (it misses threads that exit mid-window, which node's pool threads do not).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces or parens. */
function statFields(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** utime and stime of a process (all its threads), in clock ticks; NaN when it is gone. */
export function cpuTicks(pid) {
  try {
    const f = statFields(pid);
    // After "pid (comm) ", field 3 (state) is f[0]; utime is field 14 → f[11], stime 15 → f[12].
    return { user: Number(f[11]), sys: Number(f[12]) };
  } catch {
    return { user: NaN, sys: NaN };
  }
}

/** Run time of every thread of a process, in nanoseconds; NaN when it is gone. */
export function cpuNs(pid) {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      } catch { /* the thread ended between the listing and the read */ }
    }
    return total;
  } catch {
    return NaN;
  }
}

/** One reading of a group of processes (a target's gateway, the upstream, the load generator). */
export function sample(pids) {
  let user = 0;
  let sys = 0;
  let ns = 0;
  for (const pid of pids) {
    const t = cpuTicks(pid);
    user += t.user;
    sys += t.sys;
    ns += cpuNs(pid);
  }
  return { user, sys, ns };
}

/** CPU between two samples, in microseconds: from ticks (total, user, system) and from schedstat. */
export function usedUs(a, b) {
  const us = (ticks) => (ticks * 1e6) / CLK_TCK;
  const user = us(b.user - a.user);
  const sys = us(b.sys - a.sys);
  return { ticksUs: user + sys, userUs: user, sysUs: sys, schedUs: (b.ns - a.ns) / 1e3 };
}

/** The child processes of `ppid` (nginx's workers under its master), by scanning /proc. */
export function childrenOf(ppid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    try {
      if (Number(statFields(name)[1]) === ppid) out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}
