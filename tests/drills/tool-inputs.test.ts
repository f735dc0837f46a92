// Drill: the model sends tool inputs that are malformed (missing fields, wrong types, not an
// object, an unknown tool), huge (1 MB strings) or binary (NUL bytes, lone surrogates, invalid
// UTF-8 on the wire). Each call must come back to the model as a clear tool error (an is_error
// tool_result the fake server receives in the next request) or, where the input is legal, work;
// the conversation must go on to a submission, and nothing may crash the experiment.
// Not repeated here: paths outside the repository, symlinks, non-editable files, bash guards, long
// output and empty descriptions (tests/agent/guards.test.ts, tests/agent/agent.test.ts).

import { readFileSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { startFakeApi, turn, useTool, type AssistantTurn, type FakeApi, type Reply } from '../../src/fakeapi/index.js';
import type { ScriptedBlock } from '../../src/fakeapi/wire.js';
import { cleanupRepos, context, FAKE_KEY, lastToolResults, makeRepo, TRAIN_PY } from '../agent/helpers.js';

let api: FakeApi | null = null;
let closeFront: (() => Promise<void>) | null = null;
afterEach(async () => {
  await closeFront?.();
  await api?.close();
  api = null;
  closeFront = null;
  cleanupRepos();
});

const EDITOR = 'str_replace_based_edit_tool';
const MB = 1024 * 1024;
const editor = (input: unknown) => useTool(EDITOR, input);
const goodEdit: Reply = turn(editor({ command: 'str_replace', path: 'train.py', old_str: 'LR = 0.02', new_str: 'LR = 0.03' }));
const goodSubmit: Reply = turn(useTool('submit_experiment', { description: 'LR 0.03' }));

function agentFor(url: string): ClaudeAgent {
  return new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: url, model: 'claude-sonnet-5-5', retryBaseMs: 5 });
}

/** The model's first call is `bad`; then a good edit and a submission. Returns the tool_result `bad` got. */
async function afterBadCall(bad: ScriptedBlock, repo = makeRepo()) {
  const replies: Reply[] = [{ kind: 'turn', content: [bad], chunkSize: 64 * 1024 } satisfies AssistantTurn, goodEdit, goodSubmit];
  api = await startFakeApi((_b, i) => replies[i]!);
  const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
  const result = lastToolResults(api.requests[1]?.body)[0];
  return { proposal, result, repo };
}

type Case = [name: string, call: ScriptedBlock, isError: boolean, says: RegExp];

const malformed: Case[] = [
  ['editor without a command', editor({ path: 'train.py' }), true, /unknown command undefined/],
  ['editor command of the wrong type', editor({ command: 7, path: 'train.py' }), true, /unknown command 7/],
  ['editor path of the wrong type', editor({ command: 'view', path: 42 }), true, /path must be a string/],
  ['editor input that is not an object', editor('view train.py'), true, /unknown command/],
  ['editor input null', editor(null), true, /unknown command/],
  ['str_replace without old_str', editor({ command: 'str_replace', path: 'train.py', new_str: 'x' }), true, /non-empty old_str/],
  ['str_replace with an object for old_str', editor({ command: 'str_replace', path: 'train.py', old_str: { a: 1 }, new_str: 'x' }), true, /non-empty old_str/],
  ['view_range of strings', editor({ command: 'view', path: 'train.py', view_range: ['1', 2] }), true, /view_range must be two integers/],
  ['view_range of three numbers', editor({ command: 'view', path: 'train.py', view_range: [1, 2, 3] }), true, /view_range must be two integers/],
  ['insert_line as a string', editor({ command: 'insert', path: 'train.py', insert_line: '2', insert_text: 'x = 1\n' }), true, /insert_line must be an integer/],
  ['insert_line past the end', editor({ command: 'insert', path: 'train.py', insert_line: 10_000, insert_text: 'x = 1\n' }), true, /insert_line must be an integer between 0 and/],
  ['create without file_text', editor({ command: 'create', path: 'train.py' }), true, /create needs file_text/],
  ['bash without a command', useTool('bash', {}), true, /bash needs a non-empty command/],
  ['bash with a number for command', useTool('bash', { command: 12 }), true, /bash needs a non-empty command/],
  ['a tool that does not exist', useTool('python', { code: 'print(1)' }), true, /no tool named "python"/],
];

const huge: Case[] = [
  ['str_replace with a 1 MB old_str', editor({ command: 'str_replace', path: 'train.py', old_str: 'x'.repeat(MB), new_str: 'y' }), true, /old_str did not appear verbatim/],
];

const binary: Case[] = [
  ['a path with a NUL byte', editor({ command: 'view', path: 'train.py\u0000.txt' }), true, /path contains a NUL byte/],
  ['str_replace with NUL bytes in old_str', editor({ command: 'str_replace', path: 'train.py', old_str: 'LR\u0000= 0.02', new_str: 'x' }), true, /did not appear verbatim/],
  ['str_replace with a lone surrogate in old_str', editor({ command: 'str_replace', path: 'train.py', old_str: 'LR = \ud800', new_str: 'x' }), true, /did not appear verbatim/],
];

describe('malformed, huge and binary tool inputs: clear tool errors, the conversation goes on', () => {
  it.each([...malformed, ...huge, ...binary])('%s', async (_name, call, isError, says) => {
    const { proposal, result } = await afterBadCall(call);
    expect(result, 'the bad call got a tool_result').toBeDefined();
    expect(result!.is_error === true).toBe(isError);
    expect(result!.content).toMatch(says);
    expect(result!.content.length, 'the error does not echo a huge input back').toBeLessThan(2000);
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.03' });
  });
});

describe('legal but extreme inputs work and stay bounded', () => {
  it('create with a 1 MB file_text writes it; viewing it is cut at the view limit', async () => {
    const repo = makeRepo();
    const big = `${TRAIN_PY}${'# padding line of a big train.py\n'.repeat(MB / 33)}`;
    const replies: Reply[] = [
      { content: [editor({ command: 'create', path: 'train.py', file_text: big })], chunkSize: 64 * 1024 },
      turn(editor({ command: 'view', path: 'train.py' })),
      goodEdit,
      goodSubmit,
    ];
    api = await startFakeApi((_b, i) => replies[i]!);
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal.kind).toBe('submitted');
    const created = lastToolResults(api.requests[1]!.body)[0]!;
    expect(created.is_error).toBeFalsy();
    expect(created.content).toMatch(/File train.py written/);
    const viewed = lastToolResults(api.requests[2]!.body)[0]!;
    expect(viewed.content.length).toBeLessThan(110_000);
    expect(viewed.content).toMatch(/output cut at 100000 characters/);
    expect(statSync(path.join(repo, 'train.py')).size).toBeGreaterThan(MB - 1000);
  });

  it('a 1 MB description with control characters is cut to one short TSV-safe line', async () => {
    const repo = makeRepo();
    const replies: Reply[] = [goodEdit, { content: [useTool('submit_experiment', { description: `tab\there\u0000nul\nnewline ${'z'.repeat(MB)}` })], chunkSize: 64 * 1024 }];
    api = await startFakeApi((_b, i) => replies[i]!);
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal.kind).toBe('submitted');
    const description = proposal.kind === 'submitted' ? proposal.description : '';
    expect(description.length).toBeLessThanOrEqual(200);
    expect(description).toMatch(/^tab here nul newline z+…$/);
  });

  it('a submit_experiment description of the wrong type is an error the model can correct', async () => {
    const repo = makeRepo();
    const replies: Reply[] = [goodEdit, turn(useTool('submit_experiment', { description: 42 })), goodSubmit];
    api = await startFakeApi((_b, i) => replies[i]!);
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    const result = lastToolResults(api.requests[2]!.body)[0]!;
    expect(result.is_error).toBe(true);
    expect(result.content).toMatch(/description must be a non-empty/);
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.03' });
  });

  it('file_text with NUL bytes and lone surrogates is written; a view then calls it binary instead of dumping it', async () => {
    const repo = makeRepo();
    const replies: Reply[] = [
      turn(editor({ command: 'create', path: 'train.py', file_text: `${TRAIN_PY}BLOB = "\u0000\u0001\ud800\udfff\ud800"\n` })),
      turn(editor({ command: 'view', path: 'train.py' })),
      goodEdit,
      goodSubmit,
    ];
    api = await startFakeApi((_b, i) => replies[i]!);
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(lastToolResults(api.requests[1]!.body)[0]!.is_error).toBeFalsy();
    expect(lastToolResults(api.requests[2]!.body)[0]!.content).toMatch(/train.py is a binary file of \d+ bytes/);
    expect(readFileSync(path.join(repo, 'train.py')).includes(0)).toBe(true);
    expect(proposal.kind).toBe('submitted');
  });

  it('invalid UTF-8 bytes on the wire (a proxy mangles the stream) arrive as U+FFFD and the edit still works', async () => {
    const repo = makeRepo();
    const MARK = '@@BAD_BYTES@@';
    const replies: Reply[] = [
      { content: [editor({ command: 'str_replace', path: 'train.py', old_str: 'LR = 0.02', new_str: `LR = 0.03  # ${MARK}` })], chunkSize: 64 * 1024 },
      goodSubmit,
    ];
    api = await startFakeApi((_b, i) => replies[i]!);
    // A front that swaps the marker for bytes that are not UTF-8 (0xff 0xfe, and a cut-off 2-byte sequence).
    const front = createServer((req: IncomingMessage, res: ServerResponse) => {
      const body: Buffer[] = [];
      req.on('data', (c: Buffer) => body.push(c));
      req.on('end', () => {
        const up = request(`${api!.url}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (upRes) => {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () => {
            const raw = Buffer.concat(chunks);
            const at = raw.indexOf(MARK);
            const out = at < 0 ? raw : Buffer.concat([raw.subarray(0, at), Buffer.from([0xff, 0xfe, 0xc3]), raw.subarray(at + MARK.length)]);
            const headers = { ...upRes.headers };
            delete headers['content-length'];
            res.writeHead(upRes.statusCode ?? 502, headers);
            res.end(out);
          });
        });
        up.end(Buffer.concat(body));
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    closeFront = () => new Promise<void>((r) => front.close(() => r()));
    const address = front.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    const proposal = await agentFor(`http://127.0.0.1:${address.port}`).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal.kind).toBe('submitted');
    expect(lastToolResults(api.requests[1]!.body)[0]!.is_error).toBeFalsy();
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toMatch(/LR = 0\.03 {2}# \ufffd+\n/);
  });
});

// Was an agent gap: node's spawn refuses an argument with a NUL byte (ERR_INVALID_ARG_VALUE) and
// Linux one over 128 KiB (E2BIG), and propose() threw, skipping the whole experiment. Now such a
// command is refused up front with the reason (unrunnableCommand in src/agent/claude/bash.ts),
// and any other failure to start one comes back as a tool error too.
describe('bash commands the OS cannot run', () => {
  it('a 1 MB bash command: a tool error, the conversation goes on', async () => {
    const { proposal, result } = await afterBadCall(useTool('bash', { command: `echo ${'x'.repeat(MB)}` }));
    expect(result?.is_error).toBe(true);
    expect(result?.content).toMatch(/command is too long \(1048581 bytes; the limit is about 100 KB/);
    expect(proposal.kind).toBe('submitted');
  });

  it('a bash command with a NUL byte: a tool error, the conversation goes on', async () => {
    const { proposal, result } = await afterBadCall(useTool('bash', { command: 'echo a\u0000b' }));
    expect(result?.is_error).toBe(true);
    expect(result?.content).toMatch(/command contains a NUL byte/);
    expect(proposal.kind).toBe('submitted');
  });

  it('a command just under the limit still runs', async () => {
    const { proposal, result } = await afterBadCall(useTool('bash', { command: `echo ${'x'.repeat(90_000)} | wc -c` }));
    expect(result?.is_error).toBeFalsy();
    expect(result?.content).toMatch(/^90001\n/);
    expect(proposal.kind).toBe('submitted');
  });
});

// Was an agent gap: a very long path was walked up one component at a time, then failed with
// ENAMETOOLONG out of propose() (64 KB: ~1 s; 256 KB: "Maximum call stack size exceeded"; 1 MB:
// no end in 30 s). Now a path over PATH_MAX is refused before any I/O, and any fs error inside the
// editor is a tool error.
describe('a path far longer than PATH_MAX', () => {
  it.each([
    ['64 KB', 32_000],
    ['256 KB', 128_000],
    ['1 MB', MB / 2],
  ])('a %s path: a tool error, quickly, and the conversation goes on', async (_size, n) => {
    const started = Date.now();
    const { proposal, result } = await afterBadCall(editor({ command: 'view', path: 'a/'.repeat(n) }), makeRepo());
    expect(result?.is_error).toBe(true);
    expect(result?.content).toMatch(/path is too long \(\d+ characters; the limit is 4096\)/);
    expect(proposal.kind).toBe('submitted');
    expect(Date.now() - started).toBeLessThan(20_000); // refused before any I/O: the 1 MB path once ran past 30 s
  });

  it('a view of a name longer than NAME_MAX: a tool error naming the fs error', async () => {
    const { proposal, result } = await afterBadCall(editor({ command: 'view', path: `${'n'.repeat(300)}.py` }));
    expect(result?.is_error).toBe(true);
    expect(result?.content).toMatch(/the view failed \(ENAMETOOLONG\)/);
    expect(result!.content.length).toBeLessThan(2000);
    expect(proposal.kind).toBe('submitted');
  });
});

// Was an agent gap: str_replace took a new_str of the wrong type as '' and deleted old_str without
// a word. A missing new_str meaning "delete" is the tool's documented behaviour; a number or an
// object is a malformed call and is refused.
describe('str_replace with a new_str of the wrong type', () => {
  it.each([
    ['a number', 12, /new_str must be a string .*got the number 12/],
    ['an object', { text: 'DEPTH = 12' }, /new_str must be a string .*got an object/],
    ['null', null, /new_str must be a string .*got null/],
  ])('%s is refused, and the file is unchanged', async (_kind, newStr, says) => {
    const { proposal, result, repo } = await afterBadCall(editor({ command: 'str_replace', path: 'train.py', old_str: 'DEPTH = 8', new_str: newStr }));
    expect(result?.is_error).toBe(true);
    expect(result?.content).toMatch(says);
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toContain('DEPTH = 8');
    expect(proposal.kind).toBe('submitted');
  });

  it('a new_str left out deletes old_str, as the tool documents', async () => {
    const { result, repo } = await afterBadCall(editor({ command: 'str_replace', path: 'train.py', old_str: 'DEPTH = 8\n' }));
    expect(result?.is_error).toBeFalsy();
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).not.toContain('DEPTH');
  });
});

describe('other editor fields of the wrong type are refused, naming the field', () => {
  it.each<[string, unknown, RegExp]>([
    ['file_text as a number', { command: 'create', path: 'train.py', file_text: 3 }, /create needs file_text .*got the number 3/],
    ['insert_text as an array', { command: 'insert', path: 'train.py', insert_line: 1, insert_text: ['x = 1'] }, /insert needs insert_text .*got an array/],
    ['insert_line as a fraction', { command: 'insert', path: 'train.py', insert_line: 1.5, insert_text: 'x = 1\n' }, /insert_line must be an integer .*got the number 1.5/],
    ['view_range on a directory', { command: 'view', path: '.', view_range: 'all' }, /view_range must be two integers/],
    ['an empty old_str', { command: 'str_replace', path: 'train.py', old_str: '', new_str: 'x' }, /non-empty old_str .*got an empty string/],
  ])('%s', async (_name, input, says) => {
    const { proposal, result, repo } = await afterBadCall(editor(input));
    expect(result?.is_error).toBe(true);
    expect(result?.content).toMatch(says);
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toContain('DEPTH = 8');
    expect(proposal.kind).toBe('submitted');
  });
});
