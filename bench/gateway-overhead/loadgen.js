// The load generator, in its own process so its CPU is not the gateway's. Closed loop: C workers,
// each sends a request, reads the whole body, and sends the next. One undici Pool with keep-alive
// per phase; a warm-up, then a measured window whose edges are also where the CPU of the target,
// the upstream and this process is read (here, so the readings sit exactly on the window).
import { Pool } from 'undici';
import { sample, usedUs } from './procstat.js';
import { checkBody, tailMarker } from './workload.js';

const hr = process.hrtime.bigint;

/** One closed-loop client: an undici dispatch handler that re-sends when its answer is complete. */
class Worker {
  constructor(run) {
    this.run = run;
    this.t0 = 0n;
    this.status = 0;
    this.last = null;
    this.parts = null;
    this.checked = false;
  }

  send() {
    const r = this.run;
    this.status = 0;
    this.last = null;
    // The first answer each worker gets is checked in full; the rest by status and last bytes.
    this.parts = this.checked ? null : [];
    r.outstanding++;
    this.t0 = hr();
    r.pool.dispatch(r.opts, this);
  }

  onRequestStart() {}
  onResponseStart(_c, status) {
    this.status = status;
  }
  onResponseData(_c, chunk) {
    this.last = chunk;
    if (this.parts !== null) this.parts.push(chunk);
  }
  onResponseEnd() {
    const t1 = hr();
    const r = this.run;
    r.outstanding--;
    let problem = null;
    if (this.status !== 200) problem = `status ${this.status}${this.parts ? ': ' + Buffer.concat(this.parts).toString('utf8').slice(0, 300) : ''}`;
    else if (this.last === null || !this.last.toString('latin1', Math.max(0, this.last.length - 40)).includes(r.marker)) problem = 'the body ended early';
    else if (this.parts !== null) {
      this.checked = true;
      problem = checkBody(r.wire, r.stream, Buffer.concat(this.parts).toString('utf8'));
    }
    r.done(t1, Number(t1 - this.t0) / 1e3, problem);
    if (r.running) process.nextTick(sendAgain, this);
    else r.maybeFinished();
  }
  onResponseError(_c, err) {
    const r = this.run;
    r.outstanding--;
    r.done(hr(), 0, `${err.code ?? 'error'}: ${err.message}`);
    // Back off a little so a dead target does not turn the loop into a spin.
    if (r.running) setTimeout(sendAgain, 10, this);
    else r.maybeFinished();
  }
}

function sendAgain(w) {
  if (w.run.running) w.send();
  else w.run.maybeFinished();
}

/** One phase against one target: resolves with latency, throughput, CPU and error figures. */
function runPhase(p) {
  return new Promise((resolve) => {
    const run = {
      pool: new Pool(p.origin, { connections: p.concurrency, pipelining: 1, keepAliveTimeout: 60_000 }),
      opts: { origin: p.origin, path: p.path, method: 'POST', headers: p.headers, body: p.body },
      wire: p.wire, stream: p.stream, marker: tailMarker(p.wire, p.stream),
      running: true, measuring: false, finished: false, outstanding: 0,
      lat: [], errors: 0, firstError: null, warmupErrors: 0, ws: 0n, we: 0n,
      cpu0: null, cpu1: null,
      done(t1, us, problem) {
        const inWindow = this.measuring && t1 >= this.ws;
        if (problem !== null) {
          if (inWindow) this.errors++;
          else this.warmupErrors++;
          this.firstError ??= problem;
          return;
        }
        if (inWindow) this.lat.push(us);
      },
      maybeFinished() {
        if (this.outstanding === 0 && !this.finished) {
          this.finished = true;
          void this.pool.close().finally(() => resolve(summarize(p, this)));
        }
      },
    };
    const groups = { target: p.pids.target, upstream: p.pids.upstream, loadgen: [process.pid] };
    const readAll = () => Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, sample(v)]));
    for (let i = 0; i < p.concurrency; i++) new Worker(run).send();
    setTimeout(() => {
      run.cpu0 = readAll();
      run.ws = hr();
      run.measuring = true;
      setTimeout(() => {
        run.we = hr();
        run.cpu1 = readAll();
        run.measuring = false;
        run.running = false;
        // Answers still in flight finish outside the window and are not counted.
        run.maybeFinished();
      }, p.measureMs);
    }, p.warmupMs);
  });
}

function summarize(p, run) {
  const lat = Float64Array.from(run.lat).sort();
  const n = lat.length;
  const seconds = Number(run.we - run.ws) / 1e9;
  const q = (x) => (n === 0 ? null : lat[Math.min(n - 1, Math.max(0, Math.ceil(x * n) - 1))]);
  const cpu = {};
  for (const k of Object.keys(run.cpu0)) {
    const u = usedUs(run.cpu0[k], run.cpu1[k]);
    cpu[k] = {
      usPerReq: n ? u.ticksUs / n : null,
      schedUsPerReq: n ? u.schedUs / n : null,
      // of usPerReq: time in the kernel (socket syscalls, loopback TCP) vs in user space
      sysUsPerReq: n ? u.sysUs / n : null,
      // share of one core over the window, to see who was busy
      coreShare: u.schedUs / 1e6 / seconds,
    };
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += lat[i];
  return {
    requests: n, seconds, rps: n / seconds, errors: run.errors, warmupErrors: run.warmupErrors, firstError: run.firstError,
    latencyUs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: n ? lat[n - 1] : null, mean: n ? sum / n : null },
    cpu,
  };
}

process.on('message', async (m) => {
  if (m?.type !== 'run') return;
  try {
    process.send({ type: 'result', id: m.id, result: await runPhase(m.phase) });
  } catch (err) {
    process.send({ type: 'result', id: m.id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
