/**
 * Which JavaScript runtimes Gatehouse serves on. Node is the engine. Bun was measured (bench/README.md,
 * "Bun engine") and fails part of the security suites there (HTTP/2, client certificates, listener
 * certificate rotation, outbound clients that resolve `undici` to Bun's stub), so it is refused unless
 * the operator opts in for an evaluation: failing closed rather than serving with untested guarantees.
 */
export const ALLOW_BUN_ENV = 'GATEHOUSE_ALLOW_BUN';

/** Why this runtime is refused, or undefined when it is supported (or explicitly allowed). */
export function engineRefusal(versions: NodeJS.ProcessVersions, env: NodeJS.ProcessEnv): string | undefined {
  if (versions.bun === undefined || env[ALLOW_BUN_ENV] === '1') return undefined;
  return `Gatehouse is not supported on Bun ${versions.bun}: HTTP/2, client certificates, listener certificate rotation and some outbound clients do not behave as on Node (bench/README.md, "Bun engine"). Run it on Node 20 or 24, or set ${ALLOW_BUN_ENV}=1 to run it anyway for an evaluation.`;
}
