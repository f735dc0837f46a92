// Each experiment's conversation, one JSON object per line, under
// <repo>/.autoresearch/<tag>/transcripts/<NNNN>.jsonl (<NNNN>-fix<k>.jsonl for fix attempts), for
// audit and for the dashboard. Only message bodies are written, never headers or environment,
// and every line goes through `redact`, so the API key cannot end up on disk.

import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** Where an experiment's transcript goes. Tags are reduced to safe file-name characters. */
export function transcriptPath(repoDir: string, tag: string, experiment: number, fixAttempt?: number): string {
  const safeTag = tag.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
  const name = `${String(experiment).padStart(4, '0')}${fixAttempt ? `-fix${fixAttempt}` : ''}.jsonl`;
  return path.join(repoDir, '.autoresearch', safeTag, 'transcripts', name);
}

export class Transcript {
  private ready = false;
  constructor(readonly file: string, private readonly redact: (text: string) => string) {}

  write(entry: Record<string, unknown>): void {
    try {
      if (!this.ready) {
        mkdirSync(path.dirname(this.file), { recursive: true });
        this.ready = true;
      }
      appendFileSync(this.file, `${this.redact(JSON.stringify({ at: new Date().toISOString(), ...entry }))}\n`);
    } catch {
      // A transcript is an aid, not part of the experiment: a full disk must not stop the run here.
    }
  }
}
