// What SLURM says, read as pure functions: no cluster needed.
import { describe, expect, it } from 'vitest';
import { crashReasonOf, isTransient, isUnknownJob, jobName, jobPhase, parseSacct, parseScontrolJob, retryable, signalName, splitShellWords } from '../../src/exec/slurmjob.js';
import { slotsOf } from '../../src/engine/loop.js';

const LINE =
  'JobId=41 JobName=t#3 UserId=root(0) GroupId=root(0) Priority=4294901759 Nice=0 JobState=PENDING Reason=Resources Dependency=(null) ' +
  'Requeue=0 Restarts=0 BatchFlag=1 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED WorkDir=/home/me/repo/.autoresearch/t/worktrees/0003 StdOut=/home/me/run.log';

describe('reading SLURM', () => {
  it('parses scontrol show job -o: state, reason, exit code and signal', () => {
    expect(parseScontrolJob(LINE)).toEqual({ state: 'PENDING', reason: 'Resources', exitCode: 0, signal: null });
    expect(parseScontrolJob(LINE.replace('JobState=PENDING Reason=Resources', 'JobState=FAILED Reason=NonZeroExitCode').replace('ExitCode=0:0', 'ExitCode=3:0'))).toMatchObject({ state: 'FAILED', exitCode: 3, signal: null });
    expect(parseScontrolJob(LINE.replace('Reason=Resources', 'Reason=None').replace('ExitCode=0:0', 'ExitCode=0:9'))).toEqual({ state: 'PENDING', reason: null, exitCode: 0, signal: 9 });
    expect(parseScontrolJob('slurm_load_jobs error: Invalid job id specified')).toBeNull();
  });

  it("parses sacct's row of the job itself, not its steps", () => {
    expect(parseSacct('41|CANCELLED by 0|0:15\n41.batch|CANCELLED|0:15\n', '41')).toEqual({ state: 'CANCELLED', reason: null, exitCode: 0, signal: 15 });
    expect(parseSacct('41.batch|OUT_OF_MEMORY|0:125\n41|OUT_OF_MEMORY|0:125\n', '41')).toMatchObject({ state: 'OUT_OF_MEMORY' });
    expect(parseSacct('', '41')).toBeNull();
  });

  it('sorts states into pending, running and ended, and maps SLURM verdicts to crash reasons', () => {
    expect(['PENDING', 'CONFIGURING', 'REQUEUED'].map(jobPhase)).toEqual(['pending', 'pending', 'pending']);
    expect(['RUNNING', 'COMPLETING', 'SUSPENDED'].map(jobPhase)).toEqual(['running', 'running', 'running']);
    expect(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED'].every((s) => jobPhase(s) === 'ended')).toBe(true);
    expect(crashReasonOf('OUT_OF_MEMORY')).toBe('OOM');
    expect(crashReasonOf('TIMEOUT')).toBe('timeout');
    expect(crashReasonOf('COMPLETED')).toBeNull();
    expect(crashReasonOf('FAILED')).toBeNull();
    expect(['NODE_FAIL', 'PREEMPTED'].every(retryable)).toBe(true);
    expect(retryable('FAILED')).toBe(false);
    expect(signalName(9)).toBe('SIGKILL');
  });

  it('tells a busy controller (retry) from a final refusal', () => {
    expect(isTransient('sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)')).toBe(true);
    expect(isTransient('slurm_load_jobs error: Socket timed out on send/recv operation')).toBe(true);
    expect(isTransient('sbatch: error: Batch job submission failed: Invalid partition name specified')).toBe(false);
    expect(isUnknownJob('slurm_load_jobs error: Invalid job id specified')).toBe(true);
  });

  it('splits --slurm-args like a POSIX shell, without expanding anything', () => {
    expect(splitShellWords(`  --partition=gpu   --gres=gpu:1 `)).toEqual(['--partition=gpu', '--gres=gpu:1']);
    expect(splitShellWords(`--comment="a \\"b\\" $HOME" --x='c d' e\\ f ''`)).toEqual(['--comment=a "b" $HOME', '--x=c d', 'e f', '']);
    expect(splitShellWords(`--comment="open`)).toEqual({ error: 'unclosed " quote' });
  });

  it('names the job after tag and experiment', () => {
    expect(jobName('autoresearch rope-scaling #12')).toBe('rope-scaling#12');
  });

  it('gives --jobs slots without GPUs, and one slot per GPU with --gpus', () => {
    expect(slotsOf(null, 3)).toEqual([{ index: 0, gpu: null }, { index: 1, gpu: null }, { index: 2, gpu: null }]);
    expect(slotsOf(null)).toEqual([{ index: 0, gpu: null }]);
    expect(slotsOf(['0', '1'])).toEqual([{ index: 0, gpu: '0' }, { index: 1, gpu: '1' }]);
  });
});
