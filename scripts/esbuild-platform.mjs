// The browser build's one substitution: src/util/platform/<name>-node.ts → <name>-web.ts (and the same for
// dist/…/*.js). Node loads the -node files; browsers get the -web ones with the same exports. The package's
// `browser` field says the same to other bundlers.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** @type {import('esbuild').Plugin} */
export const platformPlugin = {
  name: 'wasmvm-tee-platform',
  setup(build) {
    build.onResolve({ filter: /\/platform\/[a-z0-9-]+-node\.(ts|js)$/ }, (args) => {
      const web = resolve(dirname(args.importer), args.path.replace(/-node\.(ts|js)$/, '-web.$1'));
      if (!existsSync(web)) return { errors: [{ text: `no browser twin for ${args.path} (${web})` }] };
      return { path: web };
    });
  },
};
