/**
 * Secrets never reach a log or a result file: values of environment variables
 * named like *_KEY, *_TOKEN, *_SECRET (and *_PASSWORD), and strings shaped like
 * well-known API keys, are replaced by [REDACTED].
 */
const SECRET_NAME = /(_KEY|_TOKEN|_SECRET|_PASSWORD|^API_KEY|^TOKEN|^SECRET)$/i;
// Each shape must start a token: `desk-reservation-service` is a path, not a key.
const KEY_SHAPES = [
  /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{10,}/g,
  /(?<![A-Za-z0-9_-])sk-(?:proj-)?[A-Za-z0-9_-]{20,}/g,
  /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{30,}/g,
  /(?<![A-Za-z0-9_-])gh[pousr]_[A-Za-z0-9]{30,}/g,
];

export function secretValues(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= 6)
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length);
}

export function createRedactor(env: NodeJS.ProcessEnv): (text: string) => string {
  const values = secretValues(env);
  return (text) => {
    let result = text;
    for (const value of values) result = result.split(value).join('[REDACTED]');
    for (const shape of KEY_SHAPES) result = result.replace(shape, '[REDACTED]');
    return result;
  };
}
