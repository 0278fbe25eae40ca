// Worker threads on Node 20 do not inherit tsx's loader hooks, so the worker loads its
// TypeScript through tsx's API instead.
import { tsImport } from 'tsx/esm/api';

await tsImport('./load-worker.ts', import.meta.url);
