import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { repoPath } from '../../../hw-fixtures/repo-root.js';

/** The `layers/imports` rule that `make lint` runs (scripts/eslint-plugin-layers.js), on made-up files. */
const plugin = (await import(pathToFileURL(repoPath('scripts', 'eslint-plugin-layers.js')).href)) as {
  default: NonNullable<Linter.Config['plugins']>[string];
};

const config: Linter.Config[] = [
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser as Linter.Parser },
    plugins: { layers: plugin.default },
    rules: { 'layers/imports': 'error' },
  },
];

/** The layer messages ESLint reports for `code` placed at repo-relative `file`. */
function lint(file: string, code: string): string[] {
  const linter = new Linter({ cwd: repoPath() });
  return linter.verify(code, config, repoPath(file)).map((m) => m.message);
}

describe('layers/imports (make lint)', () => {
  it('rejects a driver importing the agent', () => {
    const msgs = lint('drivers/can/x.ts', "import { Engine } from '../../src/workflow/engine.js';\n");
    assert.equal(msgs.length, 1);
    assert.match(msgs[0]!, /drivers\/ must import nothing outside drivers\/, not src\/workflow\/engine\.js/);
  });

  it('rejects an enumerator importing src/ other than src/model, and allows src/model and drivers', () => {
    assert.match(
      lint('enumerators/serial/x.ts', "import '../../src/config/gateway-config.js';\n")[0]!,
      /only src\/model/,
    );
    assert.deepEqual(
      lint(
        'enumerators/serial/x.ts',
        "import type { Component } from '../../src/model/component.js';\nimport { x } from '../../drivers/serial/link.js';\n",
      ),
      [],
    );
  });

  it('rejects src/model importing anything outside itself', () => {
    assert.match(lint('src/model/x.ts', "export * from '../workflow/engine.js';\n")[0]!, /src\/model\/ must import/);
    assert.deepEqual(lint('src/model/x.ts', "import { a } from './errors.js';\nimport 'node:fs';\n"), []);
  });

  it('rejects product code importing hw-fixtures/ or test/, also through import() and typeof import()', () => {
    assert.match(lint('src/cli/x.ts', "await import('../../hw-fixtures/demo/demo-rig.js');\n")[0]!, /product code/);
    assert.match(
      lint('src/cli/x.ts', "type T = typeof import('../../test/helpers/cli.js');\n")[0]!,
      /must not import test\/helpers\/cli\.js/,
    );
    assert.match(
      lint('drivers/x.ts', "export { a } from '../hw-fixtures/can/ecu-simulator.js';\n")[0]!,
      /product code/,
    );
  });

  it('lets tests and rigs import anything, and src/ import drivers and enumerators', () => {
    assert.deepEqual(lint('test/unit/x.ts', "import '../../src/workflow/engine.js';\n"), []);
    assert.deepEqual(lint('hw-fixtures/demo/x.ts', "import '../../src/cli/list-command.js';\n"), []);
    assert.deepEqual(
      lint('src/handlers/x.ts', "import '../../drivers/can/bus.js';\nimport '../../enumerators/enumerator.js';\n"),
      [],
    );
  });

  it('holds a worked example in docs/examples/<name>/ to the layer its folder names', () => {
    // drivers/ of an example: like drivers/, nothing of the agent.
    assert.match(
      lint('docs/examples/toy/drivers/x.ts', "import '../../../../src/model/errors.js';\n")[0]!,
      /drivers\/ must import nothing outside drivers\/, not src\/model\/errors\.js/,
    );
    assert.deepEqual(lint('docs/examples/toy/drivers/x.ts', "import '../../../../drivers/shared/errors.js';\n"), []);
    // enumerators/ of an example: its own drivers and src/model, not the rest of src/.
    assert.deepEqual(
      lint(
        'docs/examples/toy/enumerators/x.ts',
        "import '../drivers/toy-bus.js';\nimport '../../../../src/model/errors.js';\n",
      ),
      [],
    );
    assert.match(
      lint('docs/examples/toy/enumerators/x.ts', "import '../../../../src/handlers/registry.js';\n")[0]!,
      /only src\/model/,
    );
    // handlers/ of an example is product code: no rigs.
    assert.match(
      lint('docs/examples/toy/handlers/x.ts', "import '../../../../hw-fixtures/demo/demo-rig.js';\n")[0]!,
      /product code/,
    );
  });
});
