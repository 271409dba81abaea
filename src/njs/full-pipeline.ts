/**
 * The full pipeline (pipeline.ts) as the entry reaches it. In Node (the tests) a plain import;
 * in the njs bundle build.mjs puts this function in place of this file, and the pipeline's
 * code in a function of its own that runs at its first call: on the njs engine, where each
 * request gets a fresh copy of the module, a request the quick path answers then never makes
 * the pipeline's hundred-odd functions (about 450 instructions each).
 */
import pipeline from './pipeline';

export function fullPipeline(): typeof pipeline {
  return pipeline;
}
