import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.gatehouse/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The dashboard's browser script (served as a file by the admin listener).
    files: ['dashboard/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { document: 'readonly', window: 'readonly', location: 'readonly', fetch: 'readonly', Node: 'readonly', FormData: 'readonly', URLSearchParams: 'readonly', setInterval: 'readonly' } },
  },
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
);
