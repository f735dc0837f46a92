"""Tests of the parts that need numpy and torch: the dataloader, evaluate_bpb, and train.py's model
and optimizer on the CPU. They are skipped where those packages are missing (as in CI); run them
wherever torch is installed, e.g. on the GPU machine: python3 -m unittest discover -s tests/python -v
"""

import ast
import json
import math
import os
import sys
import tempfile
import unittest
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[2]  # the repository root is the research workspace
sys.path.insert(0, str(WORKSPACE))

import prepare  # noqa: E402

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    np = torch = F = None

needs_torch = unittest.skipIf(torch is None, "needs numpy and torch")
needs_torch_2_4 = unittest.skipIf(torch is None or not hasattr(F, "rms_norm"), "needs torch >= 2.4")


def fake_cache(cache_dir, train_tokens, val_tokens, token_bytes):
    files = prepare.cache_files(cache_dir)
    os.makedirs(cache_dir, exist_ok=True)
    np.array(train_tokens, dtype=np.uint16).tofile(files["train"])
    np.array(val_tokens, dtype=np.uint16).tofile(files["val"])
    prepare.write_json(files["token_bytes"], token_bytes)
    prepare.write_json(files["state"], {"source": {"format": prepare.CACHE_FORMAT}, "description": "test", "complete": True, "stats": {}})


class Constant(torch.nn.Module if torch else object):
    """Returns the same logits everywhere and records the batch shapes it is asked for."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab
        self.bias = torch.nn.Parameter(torch.zeros(vocab))
        self.shapes = []

    def forward(self, x):
        self.shapes.append(tuple(x.shape))
        return self.bias.expand(*x.shape, self.vocab)


@needs_torch
class EvaluateBpbTest(unittest.TestCase):
    """score_bpb is evaluate_bpb's measurement with its settings spelled out, so tests can use small ones."""
    T = 32

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.cache = self._tmp.name
        rng = np.random.default_rng(0)
        self.val = rng.integers(1, 100, size=self.T * 12 + 1)
        self.val[::7] = 0  # BOS, every 7th token
        self.val[self.T * np.arange(12)] = np.arange(1, 13)  # rows start with different tokens (see the oracle)

    def tearDown(self):
        self._tmp.cleanup()

    def score(self, model):
        return prepare.score_bpb(model, self.cache, self.T, self.T * 10, 4)

    def test_uniform_model_scores_log2_vocab_per_byte(self):
        fake_cache(self.cache, [0] * 100, self.val, [0] + [1] * 99)
        model = Constant(128)
        model.train()
        bpb, n_tokens = self.score(model)
        # BOS targets carry no bytes and are not scored; were they scored, bpb would be higher.
        self.assertAlmostEqual(bpb, math.log2(128), places=4)
        self.assertTrue(model.training)  # restored after evaluation
        self.assertEqual(n_tokens, 10 * self.T)  # the eval_tokens cap: 10 rows of the 12
        # Batches of 4, 4 and 2 rows; the causality check runs more passes on the first batch.
        self.assertEqual((model.shapes[0], model.shapes[-2:]), ((4, self.T), [(4, self.T), (2, self.T)]))
        self.assertEqual(set(model.shapes), {(4, self.T), (2, self.T)})

    def test_bytes_per_token_divide_the_score(self):
        fake_cache(self.cache, [0] * 100, self.val, [0] + [2] * 99)
        self.assertAlmostEqual(self.score(Constant(128))[0], math.log2(128) / 2, places=4)

    def test_a_model_that_knows_the_next_token_scores_zero(self):
        fake_cache(self.cache, [0] * 100, self.val, [0] + [1] * 99)
        T = self.T
        following = {}  # every prefix of every validation row -> the token after it
        for r in range(12):
            row = [int(v) for v in self.val[r * T:r * T + T + 1]]
            for t in range(T):
                following[tuple(row[:t + 1])] = row[t + 1]

        class Oracle(torch.nn.Module):
            """Has memorized the validation text, and predicts from the tokens it has seen: causal."""

            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.zeros(()))

            def forward(self, x):
                logits = torch.full((*x.shape, 128), -50.0)
                for b in range(x.size(0)):
                    row = x[b].tolist()
                    for t in range(x.size(1)):
                        logits[b, t, following.get(tuple(row[:t + 1]), 0)] = 50.0
                return logits

        self.assertLess(self.score(Oracle())[0], 1e-6)


class Mixer(torch.nn.Module if torch else object):
    """Embeds tokens and mixes them along the sequence: causally (a running sum), or leaking the next
    token, or leaking across the rows of the batch."""

    def __init__(self, leak=None):
        super().__init__()
        torch.manual_seed(0)
        self.wte = torch.nn.Embedding(100, 16)
        self.head = torch.nn.Linear(16, 128)
        self.leak = leak

    def forward(self, x):
        h = self.wte(x).cumsum(1)
        if self.leak == "next token":
            h = h + self.wte(torch.roll(x, -1, dims=1))
        elif self.leak == "other rows":
            h = h + self.wte(x).mean(0, keepdim=True)
        return self.head(h).float()


@needs_torch
class CausalityCheckTest(unittest.TestCase):
    T = 32

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.cache = self._tmp.name
        val = np.random.default_rng(1).integers(1, 100, size=self.T * 12 + 1)
        fake_cache(self.cache, [0] * 100, val, [0] + [1] * 99)
        self.saved_judge = prepare._JUDGE

    def tearDown(self):
        prepare._JUDGE = self.saved_judge
        self._tmp.cleanup()

    def score(self, model):
        return prepare.score_bpb(model, self.cache, self.T, self.T * 10, 4)[0]

    def test_a_causal_model_is_scored(self):
        self.assertTrue(math.isfinite(self.score(Mixer())))

    def test_a_model_that_sees_the_next_token_is_refused(self):
        with self.assertRaises(prepare.RefusedToScore) as cm:
            self.score(Mixer("next token"))
        self.assertIn("the model sees future tokens", str(cm.exception))

    def test_a_model_that_sees_the_following_rows_is_refused(self):
        with self.assertRaises(prepare.RefusedToScore):
            self.score(Mixer("other rows"))

    @needs_torch_2_4
    def test_train_py_gpt_passes_and_fails_without_its_causal_mask(self):
        for source_change, leaks in ((None, False), (("is_causal=True", "is_causal=False"), True)):
            ns = load_train_definitions(source_change)
            ns.update(DEPTH=2, MODEL_DIM=64, HEAD_DIM=32, VOCAB_SIZE=128, MAX_SEQ_LEN=self.T)
            torch.manual_seed(0)
            model = ns["GPT"]()
            for p in model.parameters():  # blocks that do something (projections start at zero), logits of size
                torch.nn.init.normal_(p, std=0.1)
            if leaks:
                with self.assertRaises(prepare.RefusedToScore):
                    self.score(model)
            else:
                self.assertTrue(math.isfinite(self.score(model)))

    def judge_here(self, result_file):
        prepare._JUDGE = {**self.saved_judge, "cache_dir": self.cache, "seq_len": self.T,
                          "eval_tokens": self.T * 10, "batch_size": 4, "result_file": result_file,
                          "wall_limit": 10**9}  # this test process may be older than a run is allowed to be

    def test_evaluate_bpb_writes_the_refusal_for_the_harness(self):
        result_file = os.path.join(self.cache, "result.json")
        self.judge_here(result_file)
        with self.assertRaises(prepare.RefusedToScore):
            prepare.evaluate_bpb(Mixer("next token"))
        with open(result_file, encoding="utf-8") as f:
            error = json.load(f)["error"]
        self.assertTrue(error.startswith("the model sees future tokens (causality check failed"), error)

    def test_evaluate_bpb_writes_val_bpb_and_ignores_reassigned_constants(self):
        result_file = os.path.join(self.cache, "result.json")
        self.judge_here(result_file)
        saved = prepare.EVAL_TOKENS, prepare.MAX_SEQ_LEN, prepare.EVAL_BATCH_SIZE
        prepare.EVAL_TOKENS, prepare.MAX_SEQ_LEN, prepare.EVAL_BATCH_SIZE = 16, 16, 1
        try:
            model = Constant(128)
            bpb = prepare.evaluate_bpb(model)
        finally:
            prepare.EVAL_TOKENS, prepare.MAX_SEQ_LEN, prepare.EVAL_BATCH_SIZE = saved
        self.assertEqual(model.shapes[-1], (2, self.T))  # 10 rows of T in batches of 4, as the judge says
        with open(result_file, encoding="utf-8") as f:
            result = json.load(f)
        self.assertEqual(result["val_bpb"], bpb)
        self.assertEqual(result["eval_tokens"], 10 * self.T)


@needs_torch
class DataloaderTest(unittest.TestCase):
    def test_each_row_once_per_epoch(self):
        with tempfile.TemporaryDirectory() as cache:
            T, B = 16, 3
            train = np.arange(T * 10 + 5) % 60000  # 10 rows, and a tail too short for an 11th
            fake_cache(cache, train, [0] * 40, [0] * 10)
            loader = prepare.make_dataloader(B, T, device="cpu", cache_dir=cache)
            starts = []
            for _ in range(3):  # 3 batches of 3 rows: the 10th row is left over this epoch
                x, y, epoch = next(loader)
                self.assertEqual((x.shape, y.shape, x.dtype, epoch), ((B, T), (B, T), torch.int64, 1))
                self.assertTrue(torch.equal(x[:, 1:], y[:, :-1]))
                self.assertTrue(torch.equal(y[:, -1], x[:, -1] + 1))
                starts.extend(int(v) for v in x[:, 0])
            self.assertEqual(len(set(starts)), 9)
            self.assertTrue(all(s % T == 0 and s < 10 * T for s in starts))
            self.assertEqual(next(loader)[2], 2)


def load_train_definitions(source_change=None):
    """train.py's constants, functions and classes, without running its setup and training;
    source_change=(old, new) first edits the source, as an agent might."""
    source = (WORKSPACE / "train.py").read_text(encoding="utf-8")
    if source_change:
        assert source_change[0] in source, source_change
        source = source.replace(*source_change)
    tree = ast.parse(source)
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets):
            keep.append(node)
    namespace = {"__name__": "train_definitions"}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "train.py", "exec"), namespace)
    return namespace


@needs_torch_2_4
class TrainModelTest(unittest.TestCase):
    def setUp(self):
        self.ns = load_train_definitions()
        self.ns.update(DEPTH=2, MODEL_DIM=64, HEAD_DIM=32, VOCAB_SIZE=96, MAX_SEQ_LEN=24)
        torch.manual_seed(0)
        self.model = self.ns["GPT"]()

    def test_logits_shape_and_initial_loss(self):
        idx = torch.randint(0, 96, (2, 24))
        self.assertEqual(self.model(idx).shape, (2, 24, 96))
        loss = self.model(idx, idx)
        self.assertAlmostEqual(loss.item(), math.log(96), delta=0.05)  # near-uniform at initialization

    def test_model_is_causal(self):
        idx = torch.randint(0, 96, (1, 24))
        for p in self.model.blocks.parameters():  # make every block do something (projections start at zero)
            torch.nn.init.normal_(p, std=0.1)
        changed = idx.clone()
        changed[0, 15] = (changed[0, 15] + 1) % 96
        a, b = self.model(idx), self.model(changed)
        self.assertTrue(torch.allclose(a[:, :15], b[:, :15], atol=1e-5))
        self.assertFalse(torch.allclose(a[:, 15:], b[:, 15:], atol=1e-5))

    def test_every_parameter_is_in_exactly_one_optimizer(self):
        adamw, muon = self.ns["make_optimizers"](self.model)
        self.assertEqual(sum(len(g["params"]) for opt in (adamw, muon) for g in opt.param_groups),
                         len(list(self.model.parameters())))
        self.model.out_scale = torch.nn.Parameter(torch.ones(64))  # a new parameter nobody gave an optimizer
        with self.assertRaises(AssertionError) as cm:
            self.ns["make_optimizers"](self.model)
        self.assertIn("out_scale", str(cm.exception))

    def test_optimizers_reduce_the_loss(self):
        ns, model = self.ns, self.model
        blocks = [p for p in model.blocks.parameters()]
        muon = ns["Muon"](blocks, lr=0.02, momentum=0.95)
        adam = torch.optim.AdamW([dict(params=model.wte.parameters(), lr=0.05),
                                  dict(params=model.lm_head.parameters(), lr=0.004)], betas=(0.8, 0.95))
        idx = torch.randint(0, 96, (4, 24))
        first = None
        for _ in range(30):
            loss = model(idx[:, :-1], idx[:, 1:])
            first = loss.item() if first is None else first
            loss.backward()
            muon.step()
            adam.step()
            model.zero_grad(set_to_none=True)
        self.assertLess(loss.item(), first - 1.0)

    def test_orthogonalize_gives_singular_values_near_one(self):
        # Well-conditioned (rectangular) inputs: every singular value lands in Muon's rough band.
        for shape in ((256, 64), (64, 256)):
            s = torch.linalg.svdvals(self.ns["orthogonalize"](torch.randn(*shape)).float())
            self.assertGreater(s.min().item(), 0.5)
            self.assertLess(s.max().item(), 1.5)
        # A square random matrix has some tiny singular values that five steps cannot lift; most still move close to 1.
        s = torch.linalg.svdvals(self.ns["orthogonalize"](torch.randn(64, 64)).float())
        self.assertGreater(s.median().item(), 0.6)
        self.assertLess(s.max().item(), 1.5)

    def test_lr_schedule(self):
        self.ns.update(WARMUP_FRAC=0.0, WARMDOWN_FRAC=0.5, FINAL_LR_FRAC=0.0)
        lrm = self.ns["lr_multiplier"]
        self.assertEqual(lrm(0.0), 1.0)
        self.assertEqual(lrm(0.49), 1.0)
        self.assertAlmostEqual(lrm(0.75), 0.5)
        self.assertAlmostEqual(lrm(0.999), 0.002, places=6)


if __name__ == "__main__":
    unittest.main()
