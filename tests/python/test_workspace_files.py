"""Tests of the workspace files that need no torch: train.py's summary block and structure,
results.tsv.example, gitignore, program.md and pyproject.toml.

Run: python3 -m unittest discover -s tests/python -v
"""

import ast
import contextlib
import io
import os
import re
import subprocess
import sys
import unittest
from datetime import datetime
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[2]  # the repository root is the research workspace
TRAIN = WORKSPACE / "train.py"

# The block the harness reads, exactly as the issue specifies it.
EXPECTED_BLOCK = """\
---
val_bpb:          0.997900
training_seconds: 300.1
total_seconds:    325.9
peak_vram_mb:     45060.2
mfu_percent:      39.80
total_tokens_M:   499.6
num_steps:        953
num_params_M:     50.3
depth:            8
"""
SAMPLE_STATS = {
    "val_bpb": 0.9979, "training_seconds": 300.1234, "total_seconds": 325.9, "peak_vram_mb": 45060.24,
    "mfu_percent": 39.8, "total_tokens_M": 499.6, "num_steps": 953, "num_params_M": 50.3, "depth": 8,
}


def load_print_summary():
    """print_summary from train.py, compiled on its own: train.py itself needs torch and a GPU."""
    tree = ast.parse(TRAIN.read_text(encoding="utf-8"))
    fn = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "print_summary")
    namespace = {}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(TRAIN), "exec"), namespace)
    return namespace["print_summary"]


class TrainSummaryTest(unittest.TestCase):
    def run_summary(self, stats):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            load_print_summary()(stats)
        return out.getvalue()

    def test_block_matches_the_specification(self):
        self.assertEqual(self.run_summary(SAMPLE_STATS), EXPECTED_BLOCK)

    def test_values_line_up_in_one_column(self):
        lines = self.run_summary(SAMPLE_STATS).splitlines()[1:]
        self.assertEqual(len(lines), 9)
        self.assertEqual({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}, {18})

    def test_precision(self):
        text = self.run_summary({**SAMPLE_STATS, "val_bpb": 1.23456789, "mfu_percent": 7.0, "peak_vram_mb": 1024.06})
        self.assertIn("val_bpb:          1.234568\n", text)
        self.assertIn("mfu_percent:      7.00\n", text)
        self.assertIn("peak_vram_mb:     1024.1\n", text)


class TrainStructureTest(unittest.TestCase):
    def setUp(self):
        self.source = TRAIN.read_text(encoding="utf-8")
        self.tree = ast.parse(self.source)

    def top_level_names(self):
        names = set()
        for node in self.tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        return names

    def test_fixed_things_come_from_prepare(self):
        imported = {alias.name for node in self.tree.body if isinstance(node, ast.ImportFrom) and node.module == "prepare"
                    for alias in node.names}
        self.assertTrue({"MAX_SEQ_LEN", "TIME_BUDGET", "evaluate_bpb", "make_dataloader"} <= imported, imported)
        self.assertFalse({"MAX_SEQ_LEN", "TIME_BUDGET", "EVAL_TOKENS", "VOCAB_SIZE", "evaluate_bpb"} & self.top_level_names())

    def test_hyperparameters_are_plain_constants(self):
        for name in ("DEPTH", "MODEL_DIM", "HEAD_DIM", "TOTAL_BATCH_TOKENS", "DEVICE_BATCH_SIZE",
                     "MATRIX_LR", "EMBEDDING_LR", "HEAD_LR", "WARMDOWN_FRAC"):
            self.assertRegex(self.source, rf"(?m)^{name} = ")

    def test_only_portable_imports(self):
        modules = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                modules.add(node.module.split(".")[0])
        self.assertEqual(modules - {"math", "os", "sys", "time", "torch", "prepare"}, set())

    def test_the_seed_comes_from_the_harness(self):
        # Each run gets its own seed (AUTORESEARCH_SEED): the noise between runs is measured with it.
        self.assertRegex(self.source, r'(?m)^SEED = int\(os\.environ\.get\("AUTORESEARCH_SEED", "42"\)\)$')
        self.assertIn('print(f"seed: {SEED}")', self.source)
        seeds = [node for node in ast.walk(self.tree) if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "manual_seed"]
        self.assertTrue(seeds)
        for call in seeds:  # never a literal: a "better seed" is luck
            self.assertEqual([ast.unparse(a) for a in call.args], ["SEED"])
        env = {**os.environ, "AUTORESEARCH_SEED": "1234"}
        line = next(l for l in self.source.splitlines() if l.startswith("SEED = "))
        out = subprocess.run([sys.executable, "-c", f"import os\n{line}\nprint(SEED)"], capture_output=True, text=True, env=env)
        self.assertEqual(out.stdout.strip(), "1234")

    def test_attention_and_evaluation(self):
        self.assertIn("F.scaled_dot_product_attention(q, k, v, is_causal=True)", self.source)
        self.assertIn("torch.compile(", self.source)
        self.assertIn("evaluate_bpb(", self.source)
        self.assertIn("sys.exit(1)", self.source)  # the NaN fast-fail


class ResultsExampleTest(unittest.TestCase):
    HEADER = ["commit", "val_bpb", "memory_gb", "status", "description", "tag", "started_at", "seconds",
              "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "base", "slot", "runs", "std", "values",
              "experiment", "verdict", "files", "code", "notes"]

    def setUp(self):
        text = (WORKSPACE / "results.tsv.example").read_text(encoding="utf-8")
        self.assertTrue(text.endswith("\n"))
        lines = text.rstrip("\n").split("\n")
        self.header = lines[0].split("\t")
        self.rows = [dict(zip(self.HEADER, line.split("\t"))) for line in lines[1:]]
        self.widths = [len(line.split("\t")) for line in lines]

    def test_header_and_shape(self):
        self.assertEqual(self.header, self.HEADER)
        self.assertEqual(set(self.widths), {23})
        self.assertGreaterEqual(len(self.rows), 10)

    def test_field_formats(self):
        for row in self.rows:
            self.assertRegex(row["commit"], r"^[0-9a-f]{7}$")
            self.assertRegex(row["val_bpb"], r"^\d+\.\d{6}$")
            self.assertRegex(row["memory_gb"], r"^\d+\.\d$")
            self.assertIn(row["status"], {"keep", "discard", "crash"})
            self.assertRegex(row["seconds"], r"^\d+$")
            self.assertRegex(row["cost_usd"], r"^\d+\.\d{4}$")
            for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
                self.assertRegex(row[key], r"^\d+$")
            self.assertRegex(row["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # Date.toISOString()
            datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
            self.assertNotIn("\t", row["description"])
        self.assertEqual(len({row["commit"] for row in self.rows}), len(self.rows))

    def test_baseline_then_decisions_that_follow_the_rule(self):
        self.assertEqual((self.rows[0]["description"], self.rows[0]["status"]), ("baseline", "keep"))
        best = float(self.rows[0]["val_bpb"])
        for row in self.rows[1:]:
            value = float(row["val_bpb"])
            if row["status"] == "crash":
                self.assertEqual((row["val_bpb"], row["memory_gb"]), ("0.000000", "0.0"))
                self.assertRegex(row["description"], r" \((OOM|timeout|nan|exit \d+)\)$")
            elif row["status"] == "keep":
                self.assertLess(value, best)
                best = value
            else:
                self.assertGreaterEqual(value, best)

    def test_statuses_all_appear_and_times_increase(self):
        self.assertEqual({row["status"] for row in self.rows}, {"keep", "discard", "crash"})
        times = [row["started_at"] for row in self.rows]
        self.assertEqual(times, sorted(times))


class OtherFilesTest(unittest.TestCase):
    def test_gitignore(self):
        # The repository is the workspace: its .gitignore keeps the program's and Python's files out of git.
        entries = set((WORKSPACE / ".gitignore").read_text(encoding="utf-8").split())
        self.assertTrue({"results.tsv", "run.log", ".autoresearch/", "__pycache__/", ".venv/", "node_modules/", "dist/"} <= entries)

    def test_program_covers_the_harness_contract(self):
        text = (WORKSPACE / "program.md").read_text(encoding="utf-8")
        for phrase in ("submit_experiment", "train.py", "prepare.py", "git", "val_bpb", "one change",
                       "Never ask", "simpl", "(OOM)"):
            self.assertIn(phrase.lower(), text.lower(), phrase)

    def test_pyproject(self):
        try:
            import tomllib
        except ModuleNotFoundError:
            self.skipTest("tomllib needs Python 3.11")
        data = tomllib.loads((WORKSPACE / "pyproject.toml").read_text(encoding="utf-8"))
        self.assertEqual(data["project"]["requires-python"], ">=3.10,<3.14")
        deps = {re.split(r"[<>=!~ ]", d)[0]: d for d in data["project"]["dependencies"]}
        self.assertEqual(set(deps), {"torch", "numpy", "pyarrow", "tokenizers"})
        self.assertEqual(deps["torch"], "torch==2.11.*")  # the tested version: every machine trains the same code
        index = data["tool"]["uv"]["index"][0]
        self.assertIn("download.pytorch.org/whl/cu12", index["url"])
        self.assertEqual(data["tool"]["uv"]["sources"]["torch"][0]["index"], index["name"])

    def test_python_version_is_pinned_within_the_supported_range(self):
        version = (WORKSPACE / ".python-version").read_text(encoding="utf-8").strip()
        self.assertRegex(version, r"^3\.\d+$")
        self.assertTrue(10 <= int(version.split(".")[1]) < 14, version)  # requires-python >=3.10,<3.14


if __name__ == "__main__":
    unittest.main()
