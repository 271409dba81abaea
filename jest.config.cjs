/** Unit tests (Node, against the TypeScript sources) and the console's tests run once; the njs
 *  tests (the built bundle in each engine's njs CLI) and the integration tests (real nginx, real
 *  upstreams) run once per engine (test/helpers/engine-list.cjs), each project named by its engine.
 *  An engine that is not set up is skipped with one line saying how to set it up. */
const { selectedEngines } = require('./test/helpers/engine-list.cjs');

const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] };
const perEngine = ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/njs/**/*.test.ts'];

const engines = selectedEngines();
const ready = engines.filter((e) => e.why === null);
if (!process.env.JEST_WORKER_ID) {
  for (const e of engines) if (e.why !== null) console.log(`engine ${e.name}: skipped: ${e.why}`);
}

module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/', '<rootDir>/test/njs/'],
      transform,
    },
  ].concat(
    ready.map((e) => ({
      displayName: e.name,
      testEnvironment: 'node',
      testMatch: perEngine,
      globals: { API_SESSIONS_ENGINE: e.name },
      transform,
    })),
  ),
};
