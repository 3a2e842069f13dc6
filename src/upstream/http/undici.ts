/**
 * The undici package itself, by file. Bun answers the bare specifier `undici` with a built-in stub
 * (its `Pool` has no `dispatch`); the file path reaches the real package on Bun as on Node, where it
 * is the very module `undici` resolves to (the package has no `exports` map), so Node is unchanged.
 */
export { buildConnector, errors, Pool } from 'undici/index.js';
