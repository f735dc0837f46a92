"""
Pretrain a small GPT for TIME_BUDGET seconds of wall-clock training, then measure val_bpb.

    uv run train.py          (one NVIDIA GPU; run prepare.py once before)

This is the file the research agent edits: architecture, optimizer, hyperparameters, batch size and
schedule are all fair game. What is fixed lives in prepare.py: the data, the tokenizer, MAX_SEQ_LEN,
the time budget (TrainingClock: TIME_BUDGET seconds, the first UNTIMED_STEPS steps not counted) and
evaluate_bpb, the metric, which the harness takes from prepare.py itself. The run ends with a summary
block that the harness also reads (print_summary below): keep its format.
"""

import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from prepare import MAX_SEQ_LEN, TIME_BUDGET, UNTIMED_STEPS, VOCAB_SIZE, TrainingClock, evaluate_bpb, make_dataloader

# ---------------------------------------------------------------------------
# Hyperparameters
# ---------------------------------------------------------------------------

# Model
DEPTH = 8                  # transformer blocks
MODEL_DIM = 512            # width of the residual stream
HEAD_DIM = 128             # width of one attention head: MODEL_DIM // HEAD_DIM heads
MLP_RATIO = 4              # MLP hidden width = MLP_RATIO * MODEL_DIM
ROPE_BASE = 10_000.0       # base of the rotary position frequencies
LOGIT_SOFTCAP = 15.0       # logits = cap * tanh(logits / cap) keeps early training stable; 0 turns it off

# Batch: each optimizer step sees TOTAL_BATCH_TOKENS tokens, in micro-batches of DEVICE_BATCH_SIZE
# sequences of MAX_SEQ_LEN tokens (gradient accumulation makes up the difference).
TOTAL_BATCH_TOKENS = 2**19  # ~0.5M tokens per step
DEVICE_BATCH_SIZE = 64      # sized for an 80 GB H100; halved automatically only when it does not fit (see Setup)

# Optimizer: Muon for the 2D weight matrices inside the blocks, AdamW for the embedding and the head
MATRIX_LR = 0.02            # Muon
MUON_MOMENTUM = 0.95
EMBEDDING_LR = 0.2          # AdamW
HEAD_LR = 0.004             # AdamW
ADAM_BETAS = (0.8, 0.95)

# Schedule, in terms of progress = training seconds so far / TIME_BUDGET
WARMUP_FRAC = 0.0           # linear LR warm-up over this share of the budget
WARMDOWN_FRAC = 0.5         # linear LR decay over the last share of the budget...
FINAL_LR_FRAC = 0.0         # ...down to this fraction of the peak

# The harness gives every run its own seed (AUTORESEARCH_SEED) to measure the noise between runs:
# the seed is not a hyperparameter. 42 when train.py runs on its own.
SEED = int(os.environ.get("AUTORESEARCH_SEED", "42"))

# ---------------------------------------------------------------------------
# Model: a GPT with RoPE, QK-norm, parameter-free RMSNorm and a ReLU² MLP
# ---------------------------------------------------------------------------

def norm(x):
    return F.rms_norm(x, (x.size(-1),))


def rotary_tables(seq_len, head_dim, base):
    """cos and sin of position * frequency, shaped (1, seq_len, 1, head_dim // 2) to broadcast over heads."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]


def apply_rope(x, cos, sin):
    """Rotate pairs of channels of x (B, T, H, D) by position-dependent angles, so that q·k depends
    on the distance between tokens rather than on where they are."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        assert MODEL_DIM % HEAD_DIM == 0
        self.n_head = MODEL_DIM // HEAD_DIM
        # Separate q, k, v matrices rather than one fused one: Muon orthogonalizes each on its own.
        self.c_q = nn.Linear(MODEL_DIM, MODEL_DIM, bias=False)
        self.c_k = nn.Linear(MODEL_DIM, MODEL_DIM, bias=False)
        self.c_v = nn.Linear(MODEL_DIM, MODEL_DIM, bias=False)
        self.c_proj = nn.Linear(MODEL_DIM, MODEL_DIM, bias=False)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        q = self.c_q(x).view(B, T, self.n_head, HEAD_DIM)
        k = self.c_k(x).view(B, T, self.n_head, HEAD_DIM)
        v = self.c_v(x).view(B, T, self.n_head, HEAD_DIM)
        q, k = norm(q), norm(k)  # QK-norm: bounds the attention logits, so higher learning rates stay stable
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        # (B, H, T, D) in one dtype for scaled_dot_product_attention, which picks a flash kernel on any recent GPU
        q, k, v = q.type_as(v).transpose(1, 2), k.type_as(v).transpose(1, 2), v.transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc = nn.Linear(MODEL_DIM, MLP_RATIO * MODEL_DIM, bias=False)
        self.c_proj = nn.Linear(MLP_RATIO * MODEL_DIM, MODEL_DIM, bias=False)

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)).square())  # ReLU²: cheap, and works well in small GPTs


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = CausalSelfAttention()
        self.mlp = MLP()

    def forward(self, x, cos, sin):
        x = x + self.attn(norm(x), cos, sin)
        return x + self.mlp(norm(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB_SIZE, MODEL_DIM)
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.lm_head = nn.Linear(MODEL_DIM, VOCAB_SIZE, bias=False)  # untied from wte
        cos, sin = rotary_tables(MAX_SEQ_LEN, HEAD_DIM, ROPE_BASE)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self):
        nn.init.normal_(self.wte.weight, std=1.0)
        nn.init.normal_(self.lm_head.weight, std=0.001)  # start from near-uniform predictions
        for block in self.blocks:
            for linear in (block.attn.c_q, block.attn.c_k, block.attn.c_v, block.mlp.c_fc):
                nn.init.normal_(linear.weight, std=MODEL_DIM ** -0.5)
            # Output projections start at zero: every block begins as the identity on the residual stream.
            nn.init.zeros_(block.attn.c_proj.weight)
            nn.init.zeros_(block.mlp.c_proj.weight)

    def forward(self, idx, targets=None):
        """Logits (B, T, VOCAB_SIZE) for token ids idx (B, T); the mean cross-entropy if targets are given."""
        T = idx.size(1)
        cos, sin = self.cos[:, :T], self.sin[:, :T]
        x = norm(self.wte(idx))
        for block in self.blocks:
            x = block(x, cos, sin)
        logits = self.lm_head(norm(x)).float()
        if LOGIT_SOFTCAP > 0:
            logits = LOGIT_SOFTCAP * torch.tanh(logits / LOGIT_SOFTCAP)
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))

# ---------------------------------------------------------------------------
# Optimizer: Muon (MomentUm Orthogonalized by Newton-Schulz) for hidden weight matrices
# ---------------------------------------------------------------------------

def orthogonalize(G, steps=5):
    """Approximately replace G by the nearest semi-orthogonal matrix (U V^T of its SVD), with a quintic
    Newton-Schulz iteration in bf16. The coefficients trade exactness for speed: the singular values
    land roughly between 0.5 and 1.5 rather than at exactly 1, which is all Muon needs."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G.bfloat16()
    tall = X.size(-2) > X.size(-1)
    if tall:
        X = X.mT  # iterate on the wide orientation: X @ X.mT is then the smaller product
    X = X / (X.norm(dim=(-2, -1), keepdim=True) + 1e-7)  # spectral norm <= Frobenius norm <= 1
    for _ in range(steps):
        A = X @ X.mT
        X = a * X + (b * A + c * A @ A) @ X
    return X.mT if tall else X


class Muon(torch.optim.Optimizer):
    """SGD with Nesterov momentum whose update is orthogonalized: every direction of the weight matrix
    moves by about the same amount, instead of the few directions that dominate the raw gradient."""

    def __init__(self, params, lr, momentum):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["momentum"] = torch.zeros_like(p.grad)
                buf = state["momentum"]
                buf.lerp_(p.grad, 1 - group["momentum"])
                update = orthogonalize(p.grad.lerp(buf, group["momentum"]))  # Nesterov
                # Scale tall matrices up so the update's size per entry does not depend on the shape.
                scale = max(1.0, p.size(-2) / p.size(-1)) ** 0.5
                p.add_(update.type_as(p), alpha=-group["lr"] * scale)


def make_optimizers(model):
    """AdamW for the embedding and the head, Muon for the 2D matrices inside the blocks. Every parameter
    must be in exactly one of them: a parameter left out would silently never train."""
    matrix_params = [p for p in model.blocks.parameters() if p.ndim == 2]
    assert len(matrix_params) == len(list(model.blocks.parameters())), "Muon takes 2D matrices only"
    adamw = torch.optim.AdamW(
        [dict(params=model.wte.parameters(), lr=EMBEDDING_LR), dict(params=model.lm_head.parameters(), lr=HEAD_LR)],
        betas=ADAM_BETAS, eps=1e-10, weight_decay=0.0, fused=True,
    )
    muon = Muon(matrix_params, lr=MATRIX_LR, momentum=MUON_MOMENTUM)
    optimizers = [adamw, muon]
    optimized = [id(p) for opt in optimizers for group in opt.param_groups for p in group["params"]]
    left_out = [name for name, p in model.named_parameters() if id(p) not in optimized]
    assert not left_out, f"parameters in no optimizer (they would never train): {', '.join(left_out)}"
    assert len(optimized) == len(set(optimized)), "a parameter is in two optimizers (or twice in one)"
    for opt in optimizers:
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    return optimizers

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def lr_multiplier(progress):
    """Learning-rate scale at progress in [0, 1) of the time budget: warm-up, flat, linear warm-down."""
    if progress < WARMUP_FRAC:
        return progress / WARMUP_FRAC
    if progress < 1.0 - WARMDOWN_FRAC:
        return 1.0
    remaining = (1.0 - progress) / WARMDOWN_FRAC
    return FINAL_LR_FRAC + (1.0 - FINAL_LR_FRAC) * remaining


# Dense bf16 tensor-core FLOP/s, for MFU, by words of the name torch reports ("NVIDIA H100 PCIe",
# "NVIDIA A100-SXM4-80GB"): the first entry whose words all appear in the name wins.
PEAK_FLOPS = [
    (("H100", "PCIE"), 756e12), (("H100", "NVL"), 835e12), (("H100",), 989e12),  # H100 alone: SXM ("80GB HBM3")
    (("H200", "NVL"), 835e12), (("H200",), 989e12), (("GH200",), 989e12), (("B200",), 2250e12),
    (("A100",), 312e12), (("A10G",), 70e12), (("A10",), 125e12), (("A40",), 150e12),
    (("L40S",), 362e12), (("L40",), 181e12), (("L4",), 121e12), (("4090",), 165e12), (("3090",), 71e12),
]
ASSUMED_PEAK = ("an H100 SXM", 989e12)


def peak_flops(device_name):
    """(FLOP/s, None) for a card in PEAK_FLOPS; (FLOP/s, what was assumed) for any other."""
    words = set(device_name.upper().replace("-", " ").split())
    for names, flops in PEAK_FLOPS:
        if all(name in words for name in names):
            return flops, None
    return ASSUMED_PEAK[1], f"unknown card, MFU counted against {ASSUMED_PEAK[0]}'s {ASSUMED_PEAK[1] / 1e12:.0f} TFLOP/s"


def micro_batch_fits(model, batch_size):
    """Whether a forward and backward pass on batch_size sequences fits in GPU memory. The first try
    also compiles the model for that shape; nothing is trained (the gradients are thrown away)."""
    torch.cuda.empty_cache()  # hand back what an earlier, failed try left cached
    x = torch.randint(0, VOCAB_SIZE, (batch_size, MAX_SEQ_LEN), device="cuda")
    try:
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            model(x, x).backward()
        return True
    except torch.cuda.OutOfMemoryError:
        return False
    finally:
        model.zero_grad(set_to_none=True)


def largest_fitting(batch_size, fits):
    """batch_size, halved until fits(batch_size) is true or it reaches 1."""
    while batch_size > 1 and not fits(batch_size):
        batch_size //= 2
    return batch_size


def print_summary(stats):
    """The block the autoresearch harness reads from the log. Keep its keys and formats as they are."""
    print("---")
    print(f"val_bpb:          {stats['val_bpb']:.6f}")
    print(f"training_seconds: {stats['training_seconds']:.1f}")
    print(f"total_seconds:    {stats['total_seconds']:.1f}")
    print(f"peak_vram_mb:     {stats['peak_vram_mb']:.1f}")
    print(f"mfu_percent:      {stats['mfu_percent']:.2f}")
    print(f"total_tokens_M:   {stats['total_tokens_M']:.1f}")
    print(f"num_steps:        {stats['num_steps']}")
    print(f"num_params_M:     {stats['num_params_M']:.1f}")
    print(f"depth:            {stats['depth']}")

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

t_start = time.time()
print(f"seed: {SEED}")
torch.manual_seed(SEED)
torch.set_float32_matmul_precision("high")
device = torch.device("cuda")
gpu = torch.cuda.get_device_properties(device)
gpu_memory_gb = gpu.total_memory / 1024**3

raw_model = GPT().to(device)
model = torch.compile(raw_model, dynamic=False)
num_params = sum(p.numel() for p in raw_model.parameters())
# Training FLOPs per token: 6 per weight used in matmuls (forward + backward; the embedding lookup is
# not a matmul), plus the attention scores and their weighted sum.
flops_per_token = 6 * (num_params - raw_model.wte.weight.numel()) + 12 * DEPTH * MODEL_DIM * MAX_SEQ_LEN
optimizers = make_optimizers(raw_model)
peak, peak_assumption = peak_flops(gpu.name)

# Halve the micro-batch only if it does not fit (a smaller card, a bigger model): more accumulation
# steps keep TOTAL_BATCH_TOKENS, so each step is the same, only slower. Each size tried compiles the
# model once: on a small card, setting DEVICE_BATCH_SIZE to what fits saves that time.
micro_batch = largest_fitting(DEVICE_BATCH_SIZE, lambda b: micro_batch_fits(model, b))
tokens_per_micro_batch = micro_batch * MAX_SEQ_LEN
assert TOTAL_BATCH_TOKENS % tokens_per_micro_batch == 0, "TOTAL_BATCH_TOKENS must be a multiple of a micro-batch"
grad_accum_steps = TOTAL_BATCH_TOKENS // tokens_per_micro_batch

train_loader = make_dataloader(micro_batch, MAX_SEQ_LEN, device=device)
x, y, epoch = next(train_loader)

print(f"GPU: {gpu.name} ({gpu_memory_gb:.0f} GB, {peak / 1e12:.0f} TFLOP/s bf16"
      f"{f'; {peak_assumption}' if peak_assumption else ''})")
print(f"Model: {num_params / 1e6:.1f}M parameters, depth {DEPTH}, width {MODEL_DIM}, "
      f"{MODEL_DIM // HEAD_DIM} heads, context {MAX_SEQ_LEN}, vocab {VOCAB_SIZE}")
halved = f" (DEVICE_BATCH_SIZE {DEVICE_BATCH_SIZE} did not fit in memory)" if micro_batch < DEVICE_BATCH_SIZE else ""
print(f"Batch: {TOTAL_BATCH_TOKENS:,} tokens per step = {grad_accum_steps} micro-batches of {micro_batch} sequences{halved}")
print(f"Training for {TIME_BUDGET}s (the first {UNTIMED_STEPS} steps are not counted)", flush=True)

# ---------------------------------------------------------------------------
# Training: until prepare.py's clock says TIME_BUDGET seconds of training have passed
# ---------------------------------------------------------------------------

clock = TrainingClock()
while not clock.done:
    torch.cuda.synchronize()
    t0 = time.time()
    lrm = lr_multiplier(clock.progress)
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * lrm
    for _ in range(grad_accum_steps):
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            loss = model(x, y)
        (loss / grad_accum_steps).backward()
        x, y, epoch = next(train_loader)  # queue the next copy while the GPU works
    for opt in optimizers:
        opt.step()
    model.zero_grad(set_to_none=True)

    train_loss = loss.item()  # waits for the step to finish
    if not math.isfinite(train_loss):
        print(f"FAIL: training loss is {train_loss} at step {clock.steps + 1}: the run diverged. Exiting.", flush=True)
        sys.exit(1)
    dt = time.time() - t0
    clock.tick(dt)
    step = clock.steps
    if step % 25 == 0 or step <= UNTIMED_STEPS:
        tokens_per_s = TOTAL_BATCH_TOKENS / dt
        mfu = 100 * flops_per_token * tokens_per_s / peak
        print(f"step {step:5d} | loss {train_loss:.4f} | lr x{lrm:.2f} | {dt * 1000:.0f} ms | "
              f"{tokens_per_s:,.0f} tok/s | mfu {mfu:.1f}% | epoch {epoch} | "
              f"{clock.seconds:.0f}/{TIME_BUDGET}s", flush=True)

timed_tokens = clock.timed_steps * TOTAL_BATCH_TOKENS
print(f"Trained {step} steps: {clock.seconds:.1f}s timed + {clock.untimed_seconds:.1f}s untimed "
      f"({timed_tokens / clock.seconds:,.0f} tok/s when timed)", flush=True)

# ---------------------------------------------------------------------------
# Evaluation and summary
# ---------------------------------------------------------------------------

val_bpb = evaluate_bpb(raw_model)  # the uncompiled model: no second compilation for the eval batch shape
print_summary({
    "val_bpb": val_bpb,
    "training_seconds": clock.seconds,
    "total_seconds": time.time() - t_start,
    "peak_vram_mb": torch.cuda.max_memory_allocated() / 1024**2,
    "mfu_percent": 100 * flops_per_token * timed_tokens / clock.seconds / peak,
    "total_tokens_M": step * TOTAL_BATCH_TOKENS / 1e6,
    "num_steps": step,
    "num_params_M": num_params / 1e6,
    "depth": DEPTH,
})
