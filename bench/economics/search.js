// The fixed fleet's search: the fewest replicas that meet the attainment goal, in few runs (a
// Mooncake run at 10× takes seconds, and a walk of ±1 from a poor guess took 30 of them).

/**
 * The smallest n in [1, max] with pass(n), assuming more replicas never attain less: gallop from
 * the guess (steps 1, 2, 4, … down while passing, up while failing) until a pass and a fail bracket
 * it, then bisect. `max` when nothing up to it passes. pass is called at most once per n by a
 * caller that caches; here each n is asked about once anyway.
 */
export function smallestPassing(pass, guess, max) {
  let lo = 0; // the largest n known to fail (0: none does)
  let hi = max + 1; // the smallest n known to pass (max + 1: none does)
  const first = Math.min(max, Math.max(1, Math.round(guess)));
  if (pass(first)) {
    hi = first;
    for (let step = 1; hi > 1; step *= 2) {
      const m = Math.max(1, hi - step);
      if (!pass(m)) {
        lo = m;
        break;
      }
      hi = m;
    }
  } else {
    lo = first;
    for (let step = 1; lo < max; step *= 2) {
      const m = Math.min(max, lo + step);
      if (pass(m)) {
        hi = m;
        break;
      }
      lo = m;
    }
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (pass(mid)) hi = mid;
    else lo = mid;
  }
  return Math.min(hi, max);
}
