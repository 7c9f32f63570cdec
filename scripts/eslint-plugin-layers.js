// ESLint rule `layers/imports`: the layering of docs/architecture.md (and /work/shared/design.md), checked on
// every relative import, export-from, literal import() and `typeof import()` type:
// - drivers/ imports nothing outside drivers/;
// - enumerators/ imports of src/ only src/model/;
// - src/model/ imports nothing outside src/model/;
// - product code (src/, drivers/, enumerators/) never imports hw-fixtures/ or test/.
// Packages (`serialport`, `node:fs`) are not layers and always pass. Proved by test/unit/lint/layers.test.ts.
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const under = (rel, folder) => rel === folder || rel.startsWith(folder + '/');

/**
 * A worked example (docs/extending.md) keeps each layer in a folder of its own:
 * `docs/examples/<name>/drivers/…` is checked as drivers/, `…/enumerators/…` as enumerators/,
 * `…/handlers/…` as src/handlers/. Any other path is its own layer.
 */
export function asLayer(rel) {
  const m = /^docs\/examples\/[^/]+\/(drivers|enumerators|handlers)(\/.*)?$/.exec(rel);
  if (!m) return rel;
  return (m[1] === 'handlers' ? 'src/handlers' : m[1]) + (m[2] ?? '');
}

/** Why importing `to` from `from` (both repo-relative, '/'-separated) breaks a layer, or undefined. */
export function layerViolation(fromPath, toPath) {
  const from = asLayer(fromPath);
  const to = asLayer(toPath);
  const product = ['src', 'drivers', 'enumerators'].some((f) => under(from, f));
  if (product && (under(to, 'hw-fixtures') || under(to, 'test')))
    return `product code must not import ${to} (hw-fixtures/ and test/ are test rigs, not shipped)`;
  if (under(from, 'drivers') && !under(to, 'drivers'))
    return `drivers/ must import nothing outside drivers/, not ${to}`;
  if (under(from, 'enumerators') && under(to, 'src') && !under(to, 'src/model'))
    return `enumerators/ may import only src/model/ of src/, not ${to}`;
  if (under(from, 'src/model') && !under(to, 'src/model'))
    return `src/model/ must import nothing outside src/model/, not ${to}`;
  return undefined;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports must respect the layers: drivers <- enumerators <- src, src/model at the bottom' },
    schema: [],
    messages: { layer: '{{why}}' },
  },
  create(context) {
    const from = relative(ROOT, context.filename).split(sep).join('/');
    const check = (source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const to = relative(ROOT, resolve(dirname(context.filename), source.value))
        .split(sep)
        .join('/');
      const why = layerViolation(from, to);
      if (why) context.report({ node: source, messageId: 'layer', data: { why } });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source.type === 'Literal' ? node.source : undefined),
      TSImportType: (node) => check(node.argument?.type === 'TSLiteralType' ? node.argument.literal : undefined),
    };
  },
};

export default { meta: { name: 'layers' }, rules: { imports: rule } };
