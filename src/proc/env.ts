// What a child process may see of our environment. The API key (and anything like it) must never
// reach the training run or the model's shell: a model can print its environment into a log.

const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION/i;

export function isSecretName(name: string): boolean {
  return name.startsWith('ANTHROPIC_') || SECRET_NAME.test(name);
}

export function scrubEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isSecretName(name)) clean[name] = value;
  }
  return clean;
}
