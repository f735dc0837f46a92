"""Tests of prepare.py as the judge (and of the train.py parts that keep it honest) that need no torch:
the result file the harness reads, the time budget, settings bound at import, the tokenizer setting,
the smallest corpus, and train.py's batch halving, optimizer coverage and MFU table.

Run: python3 -m unittest discover -s tests/python -v
"""

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[2]  # the repository root is the research workspace
sys.path.insert(0, str(WORKSPACE))

import prepare  # noqa: E402

try:
    import numpy as np
    import tokenizers
except ImportError:
    np = tokenizers = None


def run_python(code, **env):
    """Run code in a fresh interpreter (prepare.py binds its settings when imported), from the workspace."""
    full_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(WORKSPACE)!r})\n" + code],
                          capture_output=True, text=True, env=full_env)


def load_from_train(*names):
    """Named top-level functions and constants of train.py, compiled on their own (train.py needs torch)."""
    tree = ast.parse((WORKSPACE / "train.py").read_text(encoding="utf-8"))
    keep = [node for node in tree.body
            if (isinstance(node, ast.FunctionDef) and node.name in names)
            or (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in node.targets))]
    namespace = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "train.py", "exec"), namespace)
    return namespace


def function_node(path, name):
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name)


class ResultFileTest(unittest.TestCase):
    """The harness sets AUTORESEARCH_RESULT_FILE and takes val_bpb from that file, not from the log."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self._tmp.name)
        self.path = self.dir / "result.json"

    def tearDown(self):
        self._tmp.cleanup()

    def test_writes_one_json_object_atomically(self):
        self.path.write_text("old", encoding="utf-8")
        prepare.write_result({"val_bpb": 0.75}, path=str(self.path))
        self.assertEqual(json.loads(self.path.read_text(encoding="utf-8")), {"val_bpb": 0.75})
        self.assertEqual(os.listdir(self.dir), ["result.json"])  # the temporary file was renamed, not left

    def test_nothing_is_written_without_a_path(self):
        prepare.write_result({"val_bpb": 0.75}, path=None)
        self.assertEqual(os.listdir(self.dir), [])

    def evaluate_with_fake_scoring(self, seconds_ago, before=""):
        # Stand in for the torch measurement; the rest of evaluate_bpb (time check, verdict) runs for real.
        return run_python("import os, time, prepare\n" + before +
                          "prepare.score_bpb = lambda model, *settings: (0.8123, 4096)\n"
                          f"prepare._STARTED = time.monotonic() - {seconds_ago}\n"
                          "print(prepare.evaluate_bpb(None))\n",
                          AUTORESEARCH_RESULT_FILE=str(self.path))

    def test_the_path_is_taken_when_prepare_is_imported(self):
        # train.py cannot point the verdict elsewhere (or nowhere) by changing the environment afterwards.
        other = self.dir / "other.json"
        result = self.evaluate_with_fake_scoring(10, f"os.environ['AUTORESEARCH_RESULT_FILE'] = {str(other)!r}\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(self.path.read_text(encoding="utf-8"))["val_bpb"], 0.8123)
        self.assertFalse(other.exists())

    def test_success_writes_val_bpb(self):
        result = self.evaluate_with_fake_scoring(10)
        self.assertEqual(result.returncode, 0, result.stderr)
        written = json.loads(self.path.read_text(encoding="utf-8"))
        self.assertEqual(written["val_bpb"], 0.8123)
        self.assertEqual(written["eval_tokens"], 4096)
        self.assertNotIn("error", written)

    def test_over_time_writes_the_reason_and_fails_the_run(self):
        limit = prepare.TIME_BUDGET + prepare.OVERHEAD_ALLOWANCE
        result = self.evaluate_with_fake_scoring(limit + 30)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("RefusedToScore", result.stderr)
        written = json.loads(self.path.read_text(encoding="utf-8"))
        self.assertEqual(list(written), ["error"])
        self.assertRegex(written["error"], rf"^the run took \d+s, over the limit of {limit}s ")
        self.assertNotIn("\n", written["error"])


class TimeBudgetTest(unittest.TestCase):
    def test_budget_constants_are_plain_integer_lines(self):
        # The harness reads them with this pattern to set its own wall-clock limit.
        source = (WORKSPACE / "prepare.py").read_text(encoding="utf-8")
        for name in ("TIME_BUDGET", "OVERHEAD_ALLOWANCE"):
            match = re.search(rf"(?m)^{name}\s*=\s*(\d+)", source)
            self.assertIsNotNone(match, name)
            self.assertEqual(int(match.group(1)), getattr(prepare, name))
        self.assertEqual(prepare.TIME_BUDGET, 300)
        self.assertGreaterEqual(prepare.OVERHEAD_ALLOWANCE, 60)  # a cold start, compile and eval took 44s on an H200

    def test_clock_leaves_the_first_steps_untimed(self):
        clock = prepare.TrainingClock()
        for _ in range(prepare.UNTIMED_STEPS):
            clock.tick(100.0)
        self.assertEqual((clock.seconds, clock.progress, clock.done), (0.0, 0.0, False))
        self.assertEqual(clock.untimed_seconds, 100.0 * prepare.UNTIMED_STEPS)
        clock.tick(150.0)
        self.assertAlmostEqual(clock.progress, 150.0 / prepare.TIME_BUDGET)
        clock.tick(150.0)
        self.assertTrue(clock.done)
        self.assertEqual((clock.steps, clock.timed_steps), (prepare.UNTIMED_STEPS + 2, 2))

    def test_assigning_the_constants_after_import_changes_nothing(self):
        result = run_python("import prepare\n"
                            "prepare.UNTIMED_STEPS = 1000\n"
                            "prepare.TIME_BUDGET = 10**6\n"
                            "prepare.OVERHEAD_ALLOWANCE = 10**6\n"
                            "clock = prepare.TrainingClock()\n"
                            "for _ in range(7): clock.tick(100.0)\n"
                            "print(clock.timed_steps, clock.seconds, clock.done)\n"
                            "try:\n"
                            "    prepare.check_wall_time(10**5)\n"
                            "except prepare.RefusedToScore:\n"
                            "    print('refused')\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split(), ["2", "200.0", "False", "refused"])

    def test_wall_time_limit(self):
        limit = prepare.TIME_BUDGET + prepare.OVERHEAD_ALLOWANCE
        prepare.check_wall_time(limit - 1)
        with self.assertRaises(prepare.RefusedToScore) as cm:
            prepare.check_wall_time(limit + 1)
        self.assertIn("OVERHEAD_ALLOWANCE", str(cm.exception))

    def test_train_py_uses_the_clock_and_sets_no_warm_up_of_its_own(self):
        tree = ast.parse((WORKSPACE / "train.py").read_text(encoding="utf-8"))
        imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "prepare"
                    for alias in node.names}
        self.assertIn("TrainingClock", imported)
        assigned = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)}
        self.assertFalse({"COMPILE_STEPS", "UNTIMED_STEPS", "TIME_BUDGET"} & assigned)


class SettingsBoundAtImportTest(unittest.TestCase):
    def test_evaluate_bpb_takes_only_the_model(self):
        self.assertEqual(list(inspect.signature(prepare.evaluate_bpb).parameters), ["model"])

    def test_judge_settings_are_the_constants_and_read_only(self):
        self.assertEqual((prepare._JUDGE["seq_len"], prepare._JUDGE["eval_tokens"], prepare._JUDGE["batch_size"]),
                         (prepare.MAX_SEQ_LEN, prepare.EVAL_TOKENS, prepare.EVAL_BATCH_SIZE))
        with self.assertRaises(TypeError):
            prepare._JUDGE["eval_tokens"] = 2048

    def test_reassigned_constants_do_not_reach_evaluate_bpb(self):
        with tempfile.TemporaryDirectory() as tmp:
            fixed, other = os.path.join(tmp, "fixed-cache"), os.path.join(tmp, "other-cache")
            result = run_python("import prepare\n"
                                f"prepare.CACHE_DIR = {other!r}\n"
                                "prepare.EVAL_TOKENS, prepare.MAX_SEQ_LEN, prepare.EVAL_BATCH_SIZE = 2048, 64, 1\n"
                                "print(prepare._JUDGE['eval_tokens'], prepare._JUDGE['seq_len'], prepare._JUDGE['batch_size'])\n"
                                "prepare.evaluate_bpb(None)\n",
                                AUTORESEARCH_CACHE=fixed)
        self.assertEqual(result.stdout.split(), [str(prepare.EVAL_TOKENS), str(prepare.MAX_SEQ_LEN),
                                                 str(prepare.EVAL_BATCH_SIZE)])
        # Neither cache holds data: the message names the one evaluate_bpb looked in.
        self.assertIn(f"No prepared data in {fixed}", result.stderr)
        self.assertNotIn(other, result.stderr)

    def test_eval_rows(self):
        self.assertEqual(prepare.eval_rows(10 * 8 + 1, 8, 1000, 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        self.assertEqual(prepare.eval_rows(10 * 8, 8, 1000, 4), [[0, 1, 2, 3], [4, 5, 6, 7], [8]])  # no target after row 9
        self.assertEqual(prepare.eval_rows(10 * 8 + 1, 8, 24, 4), [[0, 1, 2]])  # the eval_tokens cap


class LiteralBosTest(unittest.TestCase):
    def test_document_text_is_encoded_with_special_token_matching_off(self):
        # Structural: write_tokens switches special-token matching off before it encodes anything.
        fn = function_node(WORKSPACE / "prepare.py", "write_tokens")
        settings = [node for node in ast.walk(fn) if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Attribute) and t.attr == "encode_special_tokens" for t in node.targets)]
        self.assertEqual(len(settings), 1)
        self.assertIs(settings[0].value.value, True)
        encodes = [node.lineno for node in ast.walk(fn) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("encode")]
        self.assertTrue(encodes and all(settings[0].lineno < line for line in encodes))

    @unittest.skipIf(tokenizers is None or np is None, "needs tokenizers and numpy")
    def test_a_literal_marker_is_text_not_a_document_boundary(self):
        with tempfile.TemporaryDirectory() as tmp:
            files = prepare.cache_files(tmp)
            corpus = [f"document {i}: some text, some code = {i} * 2\n" * 20 for i in range(200)]
            prepare.train_tokenizer(iter(corpus), files)
            docs = [f"see {prepare.BOS_TOKEN} here and{prepare.BOS_TOKEN}there\n", "plain text\n"]
            n_tokens, n_docs = prepare.write_tokens(iter(docs), files["train"], files["tokenizer"])
            ids = np.fromfile(files["train"], dtype=np.uint16)
            token_bytes = json.loads(Path(files["token_bytes"]).read_text(encoding="utf-8"))
            bos = tokenizers.Tokenizer.from_file(files["tokenizer"]).token_to_id(prepare.BOS_TOKEN)
            self.assertEqual((n_tokens, n_docs), (len(ids), 2))
            self.assertEqual(int((ids == bos).sum()), 2)  # one BOS per document, none from the text
            self.assertEqual(sum(token_bytes[i] for i in ids), sum(len(d.encode("utf-8")) for d in docs))


class CorpusSizeTest(unittest.TestCase):
    def test_too_little_text_names_the_minimum(self):
        message = prepare.too_little_text(64 * prepare.MAX_SEQ_LEN, 10**6)  # one token short of a micro-batch
        self.assertIn(f"{prepare.MIN_TRAIN_TOKENS:,}", message)
        self.assertIn("training", message)
        message = prepare.too_little_text(10**7, prepare.MAX_SEQ_LEN)
        self.assertIn(f"{prepare.MIN_VAL_TOKENS:,} validation", message)

    def test_enough_text_passes(self):
        self.assertIsNone(prepare.too_little_text(prepare.MIN_TRAIN_TOKENS, prepare.MIN_VAL_TOKENS))

    def test_minimum_holds_a_micro_batch_of_train_py(self):
        # The dataloader needs DEVICE_BATCH_SIZE rows of MAX_SEQ_LEN, plus the token after the last.
        source = (WORKSPACE / "train.py").read_text(encoding="utf-8")
        batch = int(re.search(r"(?m)^DEVICE_BATCH_SIZE = (\d+)", source).group(1))
        self.assertGreaterEqual(prepare.MIN_TRAIN_TOKENS, batch * prepare.MAX_SEQ_LEN + 1)
        self.assertGreaterEqual(prepare.MIN_VAL_TOKENS, prepare.MAX_SEQ_LEN + 1)


class BatchHalvingTest(unittest.TestCase):
    def setUp(self):
        self.largest_fitting = load_from_train("largest_fitting")["largest_fitting"]

    def test_a_batch_that_fits_is_kept(self):
        tried = []
        self.assertEqual(self.largest_fitting(128, lambda b: tried.append(b) or True), 128)
        self.assertEqual(tried, [128])

    def test_halves_until_it_fits(self):
        tried = []
        self.assertEqual(self.largest_fitting(128, lambda b: tried.append(b) or b <= 40), 32)
        self.assertEqual(tried, [128, 64, 32])
        self.assertEqual(self.largest_fitting(8, lambda b: False), 1)

    def test_no_memory_estimate_decides_for_the_agent(self):
        source = (WORKSPACE / "train.py").read_text(encoding="utf-8")
        self.assertNotIn("DEVICE_BATCH_SIZE //= 2", source)
        self.assertRegex(source, r"(?m)^micro_batch = largest_fitting\(DEVICE_BATCH_SIZE, ")
        self.assertIn("did not fit in memory", source)  # the effective micro-batch is printed, and why


class OptimizerCoverageTest(unittest.TestCase):
    def test_make_optimizers_checks_every_parameter_is_optimized(self):
        fn = function_node(WORKSPACE / "train.py", "make_optimizers")
        asserts = [ast.unparse(node) for node in ast.walk(fn) if isinstance(node, ast.Assert)]
        self.assertTrue(any("left_out" in a for a in asserts), asserts)
        self.assertIn("named_parameters()", ast.unparse(fn))
        self.assertRegex((WORKSPACE / "train.py").read_text(encoding="utf-8"), r"(?m)^optimizers = make_optimizers\(")


class PeakFlopsTest(unittest.TestCase):
    def setUp(self):
        self.peak_flops = load_from_train("PEAK_FLOPS", "ASSUMED_PEAK", "peak_flops")["peak_flops"]

    def test_full_names(self):
        cases = {
            "NVIDIA H100 80GB HBM3": 989e12, "NVIDIA H100 PCIe": 756e12, "NVIDIA H100 NVL": 835e12,
            "NVIDIA H200": 989e12, "NVIDIA H200 NVL": 835e12, "NVIDIA GH200 480GB": 989e12,
            "NVIDIA A100-SXM4-80GB": 312e12, "NVIDIA A100-PCIE-40GB": 312e12, "NVIDIA A100 80GB PCIe": 312e12,
            "NVIDIA A10": 125e12, "NVIDIA A10G": 70e12, "NVIDIA L4": 121e12, "NVIDIA L40S": 362e12,
            "NVIDIA L40": 181e12, "NVIDIA GeForce RTX 4090": 165e12, "NVIDIA GeForce RTX 3090": 71e12,
            "NVIDIA B200": 2250e12,
        }
        for name, flops in cases.items():
            self.assertEqual(self.peak_flops(name), (flops, None), name)

    def test_unknown_cards_state_the_assumption(self):
        flops, assumption = self.peak_flops("NVIDIA RTX PRO 9000 Imaginary")
        self.assertEqual(flops, 989e12)
        self.assertIn("unknown card", assumption)
        self.assertIn("H100", assumption)


if __name__ == "__main__":
    unittest.main()
