// engine/calibration — the published measurements the profiles are fitted to, and the same
// experiments re-run on the model.
export { calibrationMarkdown, calibrationTable } from './table.js';
export type { CalibrationRow } from './table.js';
export { closedLoop, promptTimeMs, tokenTimeMs } from './measure.js';
export { NIM_LLAMA_31_8B, NIM_LLAMA_33_70B_FP8_TP2, SPLITWISE } from './published.js';
