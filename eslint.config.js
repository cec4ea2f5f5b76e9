import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // The simulated tenant and the demo serve tests, the demo and the benchmark: production code
    // must never reach them, so `npm start` cannot fall back to a simulator.
    files: ['src/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/simulator/**', '**/simulator'], message: 'Production code must not import the simulated tenant or the demo (simulator/).' }] }],
    },
  },
  {
    // The demo and the benchmark talk to a person on the terminal.
    files: ['tests/**', 'bench/**', 'simulator/demo/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
);
