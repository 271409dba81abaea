/** Unit tests (Node, against the TypeScript sources), njs tests (the built bundle in the njs
 *  CLI) and integration tests (real nginx, real upstreams) in one run. */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
