// A one-line progress bar for long runs, redrawn in place on a terminal (nothing when not a TTY),
// at most ten times a second by the time the caller passes in.

export interface Progress {
  update(fraction: number, detail: string, nowMs: number): void;
  done(): void;
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

export function createProgress(stream: ProgressStream, label: string, width = 30): Progress {
  let lastMs = -Infinity;
  let drawn = false;
  return {
    update(fraction, detail, nowMs) {
      if (!stream.isTTY || nowMs - lastMs < 100) return;
      lastMs = nowMs;
      drawn = true;
      stream.write(`\r${progressLine(label, fraction, detail, width)}`);
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

export function progressLine(label: string, fraction: number, detail: string, width = 30): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${detail}`;
}
