/**
 * The direction of dependencies in src/ (docs/architecture.md), checked in CI by `npm run lint`.
 * Shared infrastructure (config, errors, logger, db, kafka, redis, stomp, http, shared) never
 * imports a feature; nothing imports the composition root (app.ts, main.ts); no cycles.
 */
const INFRA = '^src/(config|errors|logger|with-timeout)\\.ts$|^src/(db|kafka|redis|stomp|http|shared)/';
const FEATURES = '^src/(auth|users|rooms|messages|receipts|presence|realtime|unread|health|metrics|web|events)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make start-up order and testing fragile.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-composition-root-imports',
      severity: 'error',
      comment: 'app.ts and main.ts wire everything; nothing may depend on them.',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/(app|main)\\.ts$' },
    },
    {
      name: 'infrastructure-never-imports-features',
      severity: 'error',
      comment: 'Shared infrastructure sits below every feature.',
      from: { path: INFRA },
      to: { path: FEATURES },
    },
    {
      name: 'stomp-codec-is-pure',
      severity: 'error',
      comment: 'src/stomp is the codec: bytes in, frames out, no I/O.',
      from: { path: '^src/stomp/' },
      to: { pathNot: '^src/stomp/|^node:(buffer|util)$|^buffer$', dependencyTypes: ['local', 'npm', 'core'] },
    },
    { name: 'no-orphans', severity: 'error', from: { orphan: true, path: '^src/', pathNot: '\\.d\\.ts$' }, to: {} },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
    { name: 'no-dev-deps-in-src', severity: 'error', from: { path: '^src/' }, to: { dependencyTypes: ['npm-dev'] } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.mts', '.js', '.mjs'],
    },
  },
};
