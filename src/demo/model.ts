// The demo's scripted model: a plausible researcher served by the fake Messages API. For each
// experiment it views train.py, changes one hyperparameter with str_replace (the old line is taken
// from what the view returned, as a model would), and submits a one-line description. The plan is
// chosen so that the toy trainer gives keeps, discards and an out-of-memory crash.

import { EDITOR_TOOL, SUBMIT_TOOL } from '../agent/shared/tools.js';
import { say, turn, useTool, type AssistantTurn, type MessagesRequest, type Script } from '../fakeapi/index.js';

export interface DemoExperiment {
  constant: string; // the hyperparameter at the top of train.py
  value: string; // its new value, as Python source
  /** What the model says before viewing, before editing, and before submitting. */
  thoughts: [string, string, string];
  description: string;
  /** What the model learned so far, for later experiments (submit_experiment's notes). */
  notes?: string;
}

/** What the toy trainer makes of each step (from the baseline's 1.228734): keep, discard, keep, crash, discard, keep. */
export const DEMO_PLAN: readonly DemoExperiment[] = [
  {
    constant: 'LEARNING_RATE',
    value: '0.2',
    thoughts: [
      'The baseline loss is still falling steadily at the last step, which suggests the learning rate is too timid. Let me look at the hyperparameters.',
      'LEARNING_RATE is 0.05 with a constant schedule. A 4x higher rate should converge much further in the same 300 steps without diverging on a problem this small.',
      'One change in place: the learning rate goes from 0.05 to 0.2.',
    ],
    description: 'raise LEARNING_RATE 0.05 -> 0.2: baseline loss was still falling steadily at the end',
  },
  {
    constant: 'ACTIVATION',
    value: '"relu"',
    thoughts: [
      'The higher learning rate helped a lot. Next, the nonlinearity: let me check what the hidden layer uses.',
      'It is tanh. ReLU often trains faster at higher learning rates because it does not saturate; worth one experiment.',
      'Swapped tanh for relu; nothing else changed.',
    ],
    description: 'swap tanh for relu in the hidden layer: tanh may saturate at lr 0.2',
  },
  {
    constant: 'WIDTH',
    value: '16',
    thoughts: [
      'ReLU was clearly worse, so tanh stays. With 8 hidden units the fit may be capacity-limited; let me look at WIDTH.',
      'WIDTH = 8. Doubling it to 16 gives the curve more basis functions at a modest cost in memory.',
      'Hidden width doubled from 8 to 16.',
    ],
    description: 'double hidden WIDTH 8 -> 16: the fit looks capacity-limited',
    notes: 'the learning rate was the biggest lever so far; tanh beats relu at lr 0.2',
  },
  {
    constant: 'WIDTH',
    value: '64',
    thoughts: [
      'Width 16 was a clear win. If capacity is the bottleneck, a much wider layer could go further still. Checking the current value.',
      'WIDTH is 16 now. Going to 64 is aggressive, but the gain from 8 to 16 was large, so let us see where it saturates.',
      'WIDTH set to 64. Memory grows with width, so this one might not fit.',
    ],
    description: 'widen hidden layer 16 -> 64: more capacity helped last time',
  },
  {
    constant: 'WEIGHT_DECAY',
    value: '0.001',
    thoughts: [
      'Width 64 ran out of memory, so width stays at 16. A little regularisation might help the validation loss instead. Let me view the file.',
      'WEIGHT_DECAY is 0.0. A small decay of 0.001 should smooth the fit between training points.',
      'Added weight decay 0.001.',
    ],
    description: 'add WEIGHT_DECAY 0.001: regularise the fit between training points',
    notes: 'WIDTH 64 ran out of memory: past 16, capacity costs more memory than this GPU has',
  },
  {
    constant: 'STEPS',
    value: '600',
    thoughts: [
      'Weight decay did not help. The training loss is still going down at the last step, so the run may simply be too short. Looking at STEPS.',
      'STEPS = 300 in the same time budget. Doubling to 600 steps costs nothing in wall time here because the run is paced.',
      'Training steps doubled from 300 to 600.',
    ],
    description: 'train 600 steps instead of 300: loss had not converged',
  },
];

type Block = { type: string; text?: string; content?: unknown; is_error?: boolean };
type Message = { role: string; content: string | Block[] };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Block[])
    .map((b) => (b.type === 'text' ? (b.text ?? '') : b.type === 'tool_result' ? textOf(b.content) : ''))
    .join('\n');
}

/** The file as the last `view` returned it: the editor prefixes each line with its number and a tab. */
function viewedLines(messages: Message[]): string[] {
  const last = messages[messages.length - 1];
  return textOf(last?.content)
    .split('\n')
    .map((l) => /^\s*\d+\t(.*)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ResearcherOptions {
  plan?: readonly DemoExperiment[];
  /** Pause before each reply, so the dashboard shows the model "thinking". */
  thinkMs?: number;
}

/** The fake API's script: one reply per request, decided from the conversation so far. */
export function scriptedResearcher(opts: ResearcherOptions = {}): Script {
  const plan = opts.plan ?? DEMO_PLAN;
  const thinkMs = opts.thinkMs ?? 700;
  return async (body: MessagesRequest): Promise<AssistantTurn> => {
    await sleep(thinkMs);
    const messages = body.messages as Message[];
    const prompt = textOf(messages[0]?.content);
    const n = Number(/Experiment (\d+)/.exec(prompt)?.[1] ?? '1');
    const step = messages.filter((m) => m.role === 'assistant').length;
    const exp = plan[(Math.max(1, n) - 1) % plan.length]!;
    const chunked = (t: AssistantTurn): AssistantTurn => ({ ...t, chunkSize: 12 });

    if (/fix attempt/.test(prompt)) {
      // The demo runs without fix attempts; should one come, the model declines and the crash stands.
      return chunked(turn(say('This change cannot fit in memory whatever the fix; I will not resubmit it.')));
    }
    if (step === 0) return chunked(turn(say(exp.thoughts[0]), useTool(EDITOR_TOOL, { command: 'view', path: 'train.py' })));
    if (step === 1) {
      const line = viewedLines(messages).find((l) => l.startsWith(`${exp.constant} = `));
      if (!line) return chunked(turn(say(`I cannot find ${exp.constant} in train.py, so I have nothing to change.`)));
      const comment = line.includes('#') ? `  ${line.slice(line.indexOf('#'))}` : '';
      return chunked(
        turn(say(exp.thoughts[1]), useTool(EDITOR_TOOL, { command: 'str_replace', path: 'train.py', old_str: line, new_str: `${exp.constant} = ${exp.value}${comment}` })),
      );
    }
    return chunked(turn(say(exp.thoughts[2]), useTool(SUBMIT_TOOL, { description: exp.description, ...(exp.notes ? { notes: exp.notes } : {}) })));
  };
}
