// The demo's research workspace: a toy trainer that runs in two seconds on any machine with
// python3 (standard library only) and prints the real summary block, and a short protocol.
// Its hyperparameters sit at the top like train.py's, so the scripted model edits it the same way.

/** Seconds each toy run takes, paced like a fixed time budget: the dashboard has a run to watch. */
export const TOY_TIME_BUDGET_SEC = 2.0;

export function toyTrainer(timeBudgetSec = TOY_TIME_BUDGET_SEC): string {
  return TOY_TRAINER.replace(/^TIME_BUDGET = .*$/m, `TIME_BUDGET = ${timeBudgetSec.toFixed(2)}  # seconds of "training" (the real one gets 300)`);
}

const TOY_TRAINER = `"""Toy stand-in for train.py, for \`autoresearch demo\`: no GPU, Python standard library only.

A tiny one-hidden-layer network fits a wiggly curve. The constants below play the part of the
real train.py's hyperparameters; the run prints the same summary block, so the program measures
it exactly as it would a real run.
"""
import math
import random
import sys
import time

# Hyperparameters: the experiments change these.
LEARNING_RATE = 0.05
WIDTH = 8
ACTIVATION = "tanh"  # tanh | relu
WEIGHT_DECAY = 0.0
LR_SCHEDULE = "constant"  # constant | cosine
STEPS = 300
TIME_BUDGET = 2.0  # seconds of "training" (the real one gets 300)

t0 = time.time()
random.seed(1337)


def target(x):
    return math.sin(3 * x) + 0.3 * math.cos(7 * x)


train = [(x, target(x) + (random.random() - 0.5) * 0.1) for x in (i / 12 - 1 for i in range(25))]
val = [(x, target(x)) for x in (i / 12 - 1 + 1 / 24 for i in range(24))]

# Pretend memory grows with the model, as it would on a GPU.
peak_vram_mb = 6144 + WIDTH * 1200.0
if peak_vram_mb > 80 * 1024:
    time.sleep(0.5)
    print(f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {peak_vram_mb / 1024:.2f} GiB", file=sys.stderr)
    sys.exit(1)

if ACTIVATION == "relu":
    act, dact = (lambda z: z if z > 0 else 0.0), (lambda z, a: 1.0 if z > 0 else 0.0)
else:
    act, dact = math.tanh, (lambda z, a: 1.0 - a * a)

w1 = [(random.random() * 2 - 1) * 3 for _ in range(WIDTH)]
b1 = [(random.random() * 2 - 1) * 2 for _ in range(WIDTH)]
w2 = [(random.random() * 2 - 1) / math.sqrt(WIDTH) for _ in range(WIDTH)]
b2 = 0.0


def forward(x):
    zs = [w1[j] * x + b1[j] for j in range(WIDTH)]
    hs = [act(z) for z in zs]
    return zs, hs, sum(w2[j] * hs[j] for j in range(WIDTH)) + b2


for step in range(STEPS):
    lr = LEARNING_RATE * (0.5 * (1 + math.cos(math.pi * step / STEPS)) if LR_SCHEDULE == "cosine" else 1.0)
    g1, gb1, g2, gb2, loss = [0.0] * WIDTH, [0.0] * WIDTH, [0.0] * WIDTH, 0.0, 0.0
    for x, y in train:
        zs, hs, out = forward(x)
        err = out - y
        loss += err * err / len(train)
        d = 2 * err / len(train)
        gb2 += d
        for j in range(WIDTH):
            g2[j] += d * hs[j]
            dz = d * w2[j] * dact(zs[j], hs[j])
            g1[j] += dz * x
            gb1[j] += dz
    for j in range(WIDTH):
        w1[j] -= lr * (g1[j] + WEIGHT_DECAY * w1[j])
        b1[j] -= lr * gb1[j]
        w2[j] -= lr * (g2[j] + WEIGHT_DECAY * w2[j])
    b2 -= lr * gb2
    if not math.isfinite(loss):
        print(f"step {step:05d} | loss: nan", flush=True)
        sys.exit(1)
    if step % (STEPS // 6) == 0 or step == STEPS - 1:
        print(f"step {step:05d} ({100 * step / STEPS:.1f}%) | loss: {loss:.6f} | lr: {lr:.4f}", flush=True)
    # Pace the run like a fixed time budget, so the dashboard has something to watch.
    ahead = t0 + TIME_BUDGET * (step + 1) / STEPS - time.time()
    if ahead > 0:
        time.sleep(ahead)

val_mse = sum((forward(x)[2] - y) ** 2 for x, y in val) / len(val)
print("---")
print(f"val_bpb:          {0.9 + math.sqrt(val_mse):.6f}")
print(f"training_seconds: {time.time() - t0:.1f}")
print(f"peak_vram_mb:     {peak_vram_mb:.1f}")
print(f"num_steps:        {STEPS}")
`;

export const DEMO_PROGRAM = `# autoresearch demo: research protocol

This is a toy stand-in for a real research night. \`train.py\` fits a tiny one-hidden-layer
network to a wiggly curve with plain gradient descent; it runs for about two seconds and prints
\`val_bpb\` (lower is better) in the same summary block as the real trainer.

Each experiment:
1. Look at train.py and the history of results.
2. Change ONE hyperparameter at the top of train.py (LEARNING_RATE, WIDTH, ACTIVATION,
   WEIGHT_DECAY, LR_SCHEDULE, STEPS). Do not touch anything else.
3. Submit with a one-line description of what you changed and why.

The program commits your change, runs \`python3 train.py\`, keeps the commit if val_bpb improved
and resets it otherwise. A run that crashes (for example out of memory) is logged as a crash.
`;
