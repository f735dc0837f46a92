// The GPU kit's scripted model: the fake Messages API on localhost, answering as a researcher who
// makes two real edits to the real train.py, one that should help within a short time budget
// (half the batch: twice the optimizer steps) and one that must run out of memory (a residual
// stream 128 times wider), then starts the real CLI against it and waits for it. Bundled with the
// CLI by bench/gpu/pack.sh; run by bench/gpu/run.sh on the GPU machine:
//
//   node model.mjs <cli.mjs> [autoresearch flags…]

import { spawn } from 'node:child_process';
import { EDITOR_TOOL, SUBMIT_TOOL } from '../../src/agent/shared/tools.js';
import { startFakeApi, say, turn, useTool, type MessagesRequest } from '../../src/fakeapi/index.js';

interface KitEdit {
  constant: string;
  value: string;
  description: string;
}

/** Experiment n makes KIT_EDITS[n - 1]. */
export const KIT_EDITS: readonly KitEdit[] = [
  { constant: 'TOTAL_BATCH_TOKENS', value: '2**18', description: 'halve TOTAL_BATCH_TOKENS to 2**18: twice the optimizer steps in a short budget' },
  { constant: 'MODEL_DIM', value: '65536', description: 'MODEL_DIM 512 -> 65536: far past the GPU memory, must crash as OOM' },
];

type Block = { type: string; text?: string; content?: unknown };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[]).map((b) => (b.type === 'text' ? (b.text ?? '') : b.type === 'tool_result' ? textOf(b.content) : '')).join('\n');
}

/** One reply per request: view train.py, replace the constant's line as viewed, submit. */
export function kitScript(body: MessagesRequest) {
  const messages = body.messages as Array<{ role: string; content: unknown }>;
  const prompt = textOf(messages[0]?.content);
  const n = Number(/\nExperiment (\d+)/.exec(prompt)?.[1] ?? '1');
  const edit = KIT_EDITS[n - 1];
  const step = messages.filter((m) => m.role === 'assistant').length;
  if (!edit || /fix attempt/.test(prompt)) return turn(say('Nothing more to try in this kit.'));
  if (step === 0) return turn(say(`Experiment ${n}: ${edit.description}.`), useTool(EDITOR_TOOL, { command: 'view', path: 'train.py' }));
  if (step === 1) {
    const viewed = textOf(messages[messages.length - 1]?.content)
      .split('\n')
      .map((l) => /^\s*\d+\t(.*)$/.exec(l)?.[1])
      .find((l) => l !== undefined && l.startsWith(`${edit.constant} = `));
    if (!viewed) return turn(say(`${edit.constant} is not in train.py: nothing to change.`));
    const comment = viewed.includes('#') ? `  ${viewed.slice(viewed.indexOf('#'))}` : '';
    return turn(useTool(EDITOR_TOOL, { command: 'str_replace', path: 'train.py', old_str: viewed, new_str: `${edit.constant} = ${edit.value}${comment}` }));
  }
  return turn(useTool(SUBMIT_TOOL, { description: edit.description }));
}

async function main(): Promise<void> {
  const [cli, ...flags] = process.argv.slice(2);
  if (!cli) {
    console.error('usage: node model.mjs <cli.mjs> [autoresearch flags…]');
    process.exit(2);
  }
  const api = await startFakeApi(async (body) => kitScript(body));
  const child = spawn(process.execPath, [cli, ...flags], {
    stdio: 'inherit',
    env: { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-gpu-kit-not-a-real-key', ANTHROPIC_BASE_URL: api.url },
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
  await api.close();
  process.exit(code);
}

if (process.argv[1] && /model\.(m?js|ts)$/.test(process.argv[1])) void main();
