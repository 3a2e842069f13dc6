/** An inline session policy as STS takes it: a JSON object (IAM checks the rest). */

/** Why `text` is not a policy document; undefined when it is one. */
export function policyProblem(text: string): string | undefined {
  try {
    const doc: unknown = JSON.parse(text);
    return doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? undefined : 'expected a JSON policy document (an object with Version and Statement)';
  } catch {
    return 'not valid JSON: expected a policy document such as {"Version":"2012-10-17","Statement":[…]}';
  }
}
