import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPublicDir, webClient } from '../../../src/web/web-client.js';

/**
 * The browser client is a set of ES modules under public/js, served as they are. These tests keep
 * what the browser tests cannot see cheaply: every module is served as JavaScript, preloaded by the
 * page, reachable through its imports, and the modules keep their layers (docs/browser-client.md).
 */
const publicDir = findPublicDir();
const jsDir = join(publicDir, 'js');

function listModules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listModules(path);
    return entry.name.endsWith('.js') ? [relative(jsDir, path).split('\\').join('/')] : [];
  });
}

/** Module (relative to public/js) → the modules it imports, resolved the way the browser does. */
function importGraph(modules: string[]): Map<string, string[]> {
  return new Map(
    modules.map((module) => {
      const source = readFileSync(join(jsDir, module), 'utf8');
      const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map((match) => match[1]!);
      return [module, specifiers.map((specifier) => posix.normalize(posix.join(posix.dirname(module), specifier)))];
    }),
  );
}

/** Lower layers never import higher ones; a module may import its own layer and any lower one. */
function layerOf(module: string): number {
  if (module === 'main.js') return 3;
  if (module.startsWith('features/')) return 2;
  if (module.startsWith('render/')) return 1;
  return 0;
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (module: string, path: string[]): string[] | undefined => {
    if (path.includes(module)) return [...path.slice(path.indexOf(module)), module];
    if (done.has(module)) return undefined;
    for (const imported of graph.get(module) ?? []) {
      const cycle = visit(imported, [...path, module]);
      if (cycle) return cycle;
    }
    done.add(module);
    return undefined;
  };
  for (const module of graph.keys()) {
    const cycle = visit(module, []);
    if (cycle) return cycle;
  }
  return undefined;
}

const modules = listModules(jsDir);
const graph = importGraph(modules);

describe('browser client modules', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify();
    await app.register(webClient);
  });
  afterAll(() => app.close());

  it('should serve every module under public/js as JavaScript with nosniff', async () => {
    expect(modules).toContain('main.js');
    for (const module of modules) {
      const response = await app.inject(`/js/${module}`);
      expect(response.statusCode, module).toBe(200);
      // A module script in any other type is refused by the browser.
      expect(response.headers['content-type'], module).toMatch(/^(application|text)\/javascript\b/);
      expect(response.headers['x-content-type-options'], module).toBe('nosniff');
    }
  });

  it('should load the entry as a module under a CSP of its own origin and preload every other module', async () => {
    const response = await app.inject('/');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    const html = response.body;
    expect([...html.matchAll(/<script type="module" src="\/js\/([^"]+)">/g)].map((match) => match[1])).toEqual(['main.js']);
    // Without the preloads the browser finds the modules one import level at a time.
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/js\/([^"]+)">/g)].map((match) => match[1]);
    expect(preloaded.sort()).toEqual(modules.filter((module) => module !== 'main.js').sort());
    expect(html).toContain('<script src="/vendor/stomp.umd.min.js" defer></script>');
  });

  it('should resolve every import to a module that exists, and reach every module from the entry', () => {
    for (const [module, imports] of graph) {
      for (const imported of imports) expect(graph.has(imported), `${module} imports ${imported}`).toBe(true);
    }
    const reached = new Set<string>();
    const reach = (module: string) => {
      if (reached.has(module)) return;
      reached.add(module);
      for (const imported of graph.get(module) ?? []) reach(imported);
    };
    reach('main.js');
    expect([...reached].sort()).toEqual([...modules].sort());
  });

  it('should keep the modules free of import cycles and importing only their own layer or lower ones', () => {
    expect(findCycle(graph)?.join(' → '), 'an import cycle').toBeUndefined();
    for (const [module, imports] of graph) {
      for (const imported of imports) {
        expect(layerOf(imported), `${module} (layer ${layerOf(module)}) imports ${imported}`).toBeLessThanOrEqual(layerOf(module));
      }
    }
  });

  it('should put text on the page without parsing it as HTML', () => {
    for (const module of modules) {
      const source = readFileSync(join(jsDir, module), 'utf8');
      expect(source, module).not.toMatch(/\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(/);
    }
  });
});
