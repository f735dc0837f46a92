"""Tests of prepare.py (at the repository root)'s standard-library parts: arguments, local text, cache state, downloads.

Run: python3 -m unittest discover -s tests/python -v
They need no torch, numpy, pyarrow or tokenizers, and no network (downloads go to a server on 127.0.0.1).
"""

import contextlib
import http.server
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

WORKSPACE = Path(__file__).resolve().parents[2]  # the repository root is the research workspace
sys.path.insert(0, str(WORKSPACE))

import prepare  # noqa: E402


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, rel, content):
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


class ImportTest(unittest.TestCase):
    def test_imports_without_heavy_packages(self):
        # Block the third-party packages even where they are installed: prepare.py must import them lazily.
        code = (
            "import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in {'torch', 'numpy', 'tokenizers', 'pyarrow', 'requests', 'tiktoken'}:\n"
            "            raise ImportError('blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            f"sys.path.insert(0, {str(WORKSPACE)!r})\n"
            "import prepare\n"
            "assert prepare.TIME_BUDGET == 300 and prepare.MAX_SEQ_LEN > 0\n"
            "prepare.parse_args(['--text', 'x'])\n"
            "print('imported')\n"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("imported", result.stdout)

    def test_fixed_constants(self):
        self.assertEqual(prepare.TIME_BUDGET, 300)
        self.assertEqual(prepare.MAX_SEQ_LEN, 2048)
        self.assertLessEqual(prepare.VOCAB_SIZE, 2**16)  # token files are uint16
        self.assertEqual(prepare.EVAL_TOKENS % prepare.MAX_SEQ_LEN, 0)

    def test_cache_dir_follows_environment(self):
        code = f"import sys; sys.path.insert(0, {str(WORKSPACE)!r}); import prepare; print(prepare.CACHE_DIR)"
        env = {**os.environ, "AUTORESEARCH_CACHE": "/some/where", "PYTHONDONTWRITEBYTECODE": "1"}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        self.assertEqual(out.stdout.strip(), "/some/where")
        env.pop("AUTORESEARCH_CACHE")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        self.assertEqual(out.stdout.strip(), os.path.join(os.path.expanduser("~"), ".cache", "autoresearch"))


class ParseArgsTest(unittest.TestCase):
    def parse_error(self, argv):
        with contextlib.redirect_stderr(io.StringIO()) as err, self.assertRaises(SystemExit) as cm:
            prepare.parse_args(argv)
        self.assertEqual(cm.exception.code, 2)
        return err.getvalue()

    def test_defaults_download(self):
        args = prepare.parse_args([])
        self.assertIsNone(args.text)
        self.assertEqual(args.num_shards, prepare.DEFAULT_TRAIN_SHARDS)
        self.assertFalse(args.force)

    def test_text_is_repeatable_and_takes_several(self):
        args = prepare.parse_args(["--text", "a.txt", "b/**/*.py", "--text", "c"])
        self.assertEqual(args.text, ["a.txt", "b/**/*.py", "c"])

    def test_num_shards_bounds(self):
        self.assertEqual(prepare.parse_args(["--num-shards", "3"]).num_shards, 3)
        self.assertIn("between 1 and", self.parse_error(["--num-shards", "0"]))
        self.assertIn("between 1 and", self.parse_error(["--num-shards", str(prepare.MAX_SHARD + 1)]))

    def test_num_shards_with_text_is_an_error(self):
        self.assertIn("--num-shards", self.parse_error(["--text", "x", "--num-shards", "2"]))


class ExpandTextSourcesTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.a = self.write("corpus/a.txt", "alpha")
        self.b = self.write("corpus/sub/b.py", "beta")
        self.c = self.write("corpus/sub/deeper/c.py", "gamma")
        self.d = self.write("other/d.md", "delta")

    def expand(self, *patterns):
        return prepare.expand_text_sources([str(self.tmp / p) for p in patterns])

    def real(self, *paths):
        return sorted(os.path.realpath(p) for p in paths)

    def test_recursive_glob(self):
        self.assertEqual(self.expand("corpus/**/*.py"), self.real(self.b, self.c))

    def test_plain_glob_matches_one_level(self):
        self.assertEqual(self.expand("corpus/*.txt"), self.real(self.a))
        with self.assertRaises(ValueError):
            self.expand("corpus/*.py")  # b.py and c.py are deeper

    def test_directories_matched_by_a_glob_are_walked(self):
        self.assertEqual(self.expand("corpus/*"), self.real(self.a, self.b, self.c))

    def test_directory_is_walked_without_hidden_entries(self):
        self.write("corpus/.git/config", "[core]")
        self.write("corpus/sub/.hidden.txt", "secret")
        self.assertEqual(self.expand("corpus"), self.real(self.a, self.b, self.c))

    def test_several_patterns_sorted_without_repeats(self):
        self.assertEqual(self.expand("other/*.md", "corpus/**/*.py", "corpus/sub/b.py"),
                         self.real(self.b, self.c, self.d))

    def test_symlink_counts_once(self):
        os.symlink(self.a, self.tmp / "other" / "link.txt")
        self.assertEqual(self.expand("corpus/a.txt", "other/link.txt"), self.real(self.a))

    def test_pattern_matching_nothing_is_an_error(self):
        with self.assertRaises(ValueError) as cm:
            self.expand("corpus/**/*.py", "nowhere/*.txt")
        self.assertIn("nowhere", str(cm.exception))

    def test_home_is_expanded(self):
        old = os.environ.get("HOME")
        os.environ["HOME"] = str(self.tmp)
        try:
            self.assertEqual(prepare.expand_text_sources(["~/other/*.md"]), self.real(self.d))
        finally:
            os.environ["HOME"] = old


class ReadTextFileTest(TempDirTest):
    def test_utf8_text_with_universal_newlines(self):
        path = self.write("a.txt", "héllo\r\nworld\n".encode("utf-8"))
        self.assertEqual(prepare.read_text_file(str(path)), "héllo\nworld\n")

    def test_binary_and_other_encodings_are_skipped(self):
        self.assertIsNone(prepare.read_text_file(str(self.write("nul.bin", b"abc\x00def"))))
        self.assertIsNone(prepare.read_text_file(str(self.write("latin1.txt", "café".encode("latin-1")))))
        self.assertIsNone(prepare.read_text_file(str(self.tmp / "missing.txt")))


class SplitDocumentsTest(unittest.TestCase):
    def test_short_text_is_one_document(self):
        self.assertEqual(prepare.split_documents("hello\n\nworld", 100), ["hello\n\nworld"])

    def test_blank_text_gives_nothing(self):
        self.assertEqual(prepare.split_documents("", 100), [])
        self.assertEqual(prepare.split_documents(" \n\n\t\n", 100), [])

    def test_prefers_blank_lines_then_line_ends(self):
        text = "a" * 60 + "\n\n" + "b" * 20 + "\n" + "c" * 30
        docs = prepare.split_documents(text, 100)
        self.assertEqual(docs, ["a" * 60 + "\n\n", "b" * 20 + "\n" + "c" * 30])
        text = "a" * 60 + "\n" + "b" * 60
        self.assertEqual(prepare.split_documents(text, 100), ["a" * 60 + "\n", "b" * 60])

    def test_ignores_breaks_in_the_first_half_of_a_window(self):
        text = "a" * 10 + "\n\n" + "b" * 200
        docs = prepare.split_documents(text, 100)
        self.assertEqual(docs[0], text[:100])  # a hard cut beats a 12-character document

    def test_pieces_are_bounded_and_rejoin_to_the_text(self):
        lines = [("line %d " % i) * (i % 7 + 1) for i in range(2000)]
        text = "\n".join(lines) + "\n\n" + "x" * 5000
        for max_chars in (50, 333, 4096):
            docs = prepare.split_documents(text, max_chars)
            self.assertTrue(all(0 < len(d) <= max_chars for d in docs))
            self.assertEqual("".join(docs), text)


class TextCorpusTest(TempDirTest):
    def make_files(self, n):
        # Documents that differ, so none is dropped as a repeat.
        return [str(self.write(f"docs/{i:04d}.txt", f"document number {i}\n" + "word " * (i % 13)))
                for i in range(n)]

    def test_split_is_deterministic_and_independent_of_file_order(self):
        files = self.make_files(400)
        first = prepare.load_text_corpus(files)
        second = prepare.load_text_corpus(files)
        reverse = prepare.load_text_corpus(list(reversed(files)))
        self.assertEqual(first["val"], second["val"])
        self.assertEqual(first["train"], second["train"])
        self.assertEqual(set(first["val"]), set(reverse["val"]))
        self.assertEqual(len(first["train"]) + len(first["val"]), 400)

    def test_validation_share_is_about_val_fraction(self):
        corpus = prepare.load_text_corpus(self.make_files(2000))
        expected = 2000 * prepare.VAL_FRACTION  # 100 for 5%; a binomial spread of about 10
        self.assertGreater(len(corpus["val"]), expected * 0.6)
        self.assertLess(len(corpus["val"]), expected * 1.4)

    def test_split_follows_the_document_hash(self):
        import hashlib
        corpus = prepare.load_text_corpus(self.make_files(300))
        for split in ("train", "val"):
            for doc in corpus[split]:
                self.assertEqual(prepare.document_split(hashlib.sha256(doc.encode("utf-8")).digest()), split)

    def test_repeats_are_dropped_and_unreadable_files_counted(self):
        files = self.make_files(50)
        copy = self.write("copy/0007.txt", Path(files[7]).read_text(encoding="utf-8"))
        binary = self.write("copy/blob.bin", b"\x00\x01\x02")
        corpus = prepare.load_text_corpus(files + [str(copy), str(binary)])
        self.assertEqual(corpus["duplicates"], 1)
        self.assertEqual(corpus["skipped_files"], 1)
        self.assertEqual(corpus["files"], 51)
        self.assertEqual(len(corpus["train"]) + len(corpus["val"]), 50)
        self.assertFalse(set(corpus["train"]) & set(corpus["val"]))

    def test_long_files_become_several_documents(self):
        path = self.write("long.txt", ("paragraph of text\n" * 30 + "\n") * 400)  # ~220k characters
        corpus = prepare.load_text_corpus([str(path)])
        docs = corpus["train"] + corpus["val"]
        self.assertGreater(len(docs), 1)
        self.assertTrue(all(len(d) <= prepare.DOC_CHARS for d in docs))


class CacheStateTest(TempDirTest):
    def setUp(self):
        super().setUp()
        self.cache = str(self.tmp / "cache")
        self.files = prepare.cache_files(self.cache)
        self.source = prepare.download_source(3)

    def set_state(self, source, complete):
        prepare.write_json(self.files["state"], {"source": source, "description": "d", "complete": complete, "stats": {}})

    def test_layout(self):
        self.assertEqual(self.files["state"], os.path.join(self.cache, "cache.json"))
        self.assertEqual(self.files["train"], os.path.join(self.cache, "train.bin"))
        self.assertEqual(self.files["val"], os.path.join(self.cache, "val.bin"))
        self.assertEqual(self.files["data"], os.path.join(self.cache, "data"))

    def test_status_transitions(self):
        self.assertEqual(prepare.cache_status(self.cache, self.source), "empty")
        self.set_state(self.source, False)
        self.assertEqual(prepare.cache_status(self.cache, self.source), "partial")
        self.set_state(self.source, True)
        self.assertEqual(prepare.cache_status(self.cache, self.source), "ready")
        self.assertEqual(prepare.cache_status(self.cache, prepare.download_source(4)), "other")
        self.set_state(prepare.download_source(4), False)  # an abandoned build of other data is not worth keeping
        self.assertEqual(prepare.cache_status(self.cache, self.source), "empty")

    def test_unreadable_state_counts_as_empty(self):
        os.makedirs(self.cache)
        Path(self.files["state"]).write_text("{not json", encoding="utf-8")
        self.assertEqual(prepare.cache_status(self.cache, self.source), "empty")

    def test_state_survives_a_json_round_trip(self):
        files = [str(self.write("t/a.txt", "aaa")), str(self.write("t/b.txt", "bbbb"))]
        source = prepare.text_source(files)
        self.set_state(source, True)
        self.assertEqual(prepare.cache_status(self.cache, prepare.text_source(files)), "ready")

    def test_remove_derived_keeps_downloads(self):
        os.makedirs(self.files["data"])
        shard = os.path.join(self.files["data"], prepare.shard_name(0))
        Path(shard).write_bytes(b"PAR1")
        for key in ("tokenizer", "token_bytes", "train", "val", "state"):
            Path(self.files[key]).write_bytes(b"x")
        Path(self.files["train"] + ".tmp").write_bytes(b"x")
        prepare.remove_derived(self.cache)
        self.assertEqual(os.listdir(self.cache), ["data"])
        self.assertTrue(os.path.exists(shard))

    def test_text_identity_tracks_the_files(self):
        a = str(self.write("t/a.txt", "aaa"))
        b = str(self.write("t/b.txt", "bbbb"))
        base = prepare.text_source([a, b])
        self.assertEqual(base, prepare.text_source([a, b]))
        self.assertEqual(base["files"], 2)
        self.assertNotEqual(base, prepare.text_source([a]))
        self.write("t/b.txt", "bbbbb")  # grew
        self.assertNotEqual(base, prepare.text_source([a, b]))

    def test_identity_includes_the_fixed_constants(self):
        self.assertEqual(self.source["vocab_size"], prepare.VOCAB_SIZE)
        self.assertEqual(self.source["eval_tokens"], prepare.EVAL_TOKENS)
        self.assertEqual(self.source["val_shard"], prepare.VAL_SHARD)
        self.assertNotEqual(self.source, prepare.download_source(4))


class MainIdempotenceTest(TempDirTest):
    """main() decides from cache.json before it imports anything heavy: these paths run anywhere."""

    def setUp(self):
        super().setUp()
        self.cache = str(self.tmp / "cache")
        self.files = prepare.cache_files(self.cache)
        self.write("corpus/a.txt", "some text\n" * 50)
        self.write("corpus/b.txt", "more text\n" * 50)
        self.pattern = str(self.tmp / "corpus" / "*.txt")

    def fake_ready_cache(self, source):
        os.makedirs(self.cache, exist_ok=True)
        for key in ("tokenizer", "token_bytes", "train", "val"):
            Path(self.files[key]).write_bytes(b"\x00\x00" * 10)
        stats = {"train": {"tokens": 10, "documents": 1}, "val": {"tokens": 10, "documents": 1}}
        prepare.write_json(self.files["state"], {"source": source, "description": "the corpus",
                                                 "complete": True, "stats": stats})

    def snapshot(self):
        return {name: os.stat(os.path.join(self.cache, name)).st_mtime_ns for name in os.listdir(self.cache)}

    def test_second_run_does_nothing(self):
        source = prepare.text_source(prepare.expand_text_sources([self.pattern]))
        self.fake_ready_cache(source)
        before = self.snapshot()
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertEqual(prepare.main(["--text", self.pattern], cache_dir=self.cache), 0)
        self.assertIn("nothing to do", out.getvalue())
        self.assertIn("train.bin", out.getvalue())
        self.assertEqual(self.snapshot(), before)

    def test_cache_of_other_data_is_refused_untouched(self):
        self.fake_ready_cache(prepare.download_source(2))
        before = self.snapshot()
        with contextlib.redirect_stdout(io.StringIO()), self.assertRaises(SystemExit) as cm:
            prepare.main(["--text", self.pattern], cache_dir=self.cache)
        self.assertIn("--force", str(cm.exception))
        self.assertIn("AUTORESEARCH_CACHE", str(cm.exception))
        self.assertEqual(self.snapshot(), before)

    def test_cache_tokenized_before_the_literal_marker_fix_is_not_reused(self):
        # Format 1 encoded a literal <|bos|> in the text as a document boundary: its tokens are wrong.
        source = prepare.text_source(prepare.expand_text_sources([self.pattern]))
        self.fake_ready_cache({**source, "format": 1})
        before = self.snapshot()
        with contextlib.redirect_stdout(io.StringIO()) as out, self.assertRaises(SystemExit) as cm:
            prepare.main(["--text", self.pattern], cache_dir=self.cache)
        self.assertNotIn("nothing to do", out.getvalue())
        self.assertIn("older prepare.py (cache format 1", str(cm.exception))
        self.assertIn("--force", str(cm.exception))
        self.assertEqual(self.snapshot(), before)

    def test_text_pattern_matching_nothing_stops_before_touching_the_cache(self):
        with self.assertRaises(SystemExit) as cm:
            prepare.main(["--text", str(self.tmp / "missing" / "*.txt")], cache_dir=self.cache)
        self.assertIn("matches no file", str(cm.exception))
        self.assertFalse(os.path.exists(self.cache))

    def test_dataloader_refuses_a_cache_of_an_older_format(self):
        source = prepare.text_source(prepare.expand_text_sources([self.pattern]))
        self.fake_ready_cache({**source, "format": prepare.CACHE_FORMAT - 1})
        with self.assertRaises(SystemExit) as cm:
            prepare._require_cache(self.cache)
        self.assertIn("older prepare.py", str(cm.exception))
        self.fake_ready_cache(source)
        self.assertEqual(prepare._require_cache(self.cache), self.files)

    def test_dataloader_refuses_an_unfinished_cache(self):
        with self.assertRaises(SystemExit) as cm:
            prepare._require_cache(self.cache)
        self.assertIn("prepare.py", str(cm.exception))

# ---------------------------------------------------------------------------
# Downloads against a local server
# ---------------------------------------------------------------------------


class FileServer:
    """A small HTTP server on 127.0.0.1 that serves bytes, honours Range requests (unless told not
    to), and can drop the connection after a given number of bytes, once per path."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests = []          # (path, Range header or None)
        self.cut_once = {}          # path -> bytes sent before dropping the connection
        self.ignore_range = False
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                data = server.files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                cut = server.cut_once.pop(self.path, None)
                if cut is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class DownloadTest(TempDirTest):
    DATA = bytes(range(256)) * 4000  # ~1 MB

    def setUp(self):
        super().setUp()
        self.server = FileServer({"/shard.parquet": self.DATA})
        self.dest = str(self.tmp / "shard.parquet")
        self.messages = []

    def tearDown(self):
        self.server.close()
        super().tearDown()

    def download(self, attempts=3):
        return prepare.download_file(self.server.url + "/shard.parquet", self.dest, attempts=attempts,
                                     timeout=10, wait=0, log=self.messages.append)

    def test_plain_download(self):
        self.assertTrue(self.download())
        self.assertEqual(Path(self.dest).read_bytes(), self.DATA)
        self.assertFalse(os.path.exists(self.dest + ".part"))
        self.assertEqual(self.server.requests, [("/shard.parquet", None)])

    def test_dropped_connection_resumes_with_range(self):
        self.server.cut_once["/shard.parquet"] = 300_000
        self.assertTrue(self.download())
        self.assertEqual(Path(self.dest).read_bytes(), self.DATA)
        self.assertEqual(self.server.requests, [("/shard.parquet", None), ("/shard.parquet", "bytes=300000-")])
        self.assertIn("300,000 bytes kept", self.messages[0])

    def test_partial_file_from_an_earlier_run_is_resumed(self):
        Path(self.dest + ".part").write_bytes(self.DATA[:12345])
        self.assertTrue(self.download())
        self.assertEqual(Path(self.dest).read_bytes(), self.DATA)
        self.assertEqual(self.server.requests, [("/shard.parquet", "bytes=12345-")])

    def test_server_ignoring_range_starts_over(self):
        Path(self.dest + ".part").write_bytes(b"garbage" * 100)
        self.server.ignore_range = True
        self.assertTrue(self.download())
        self.assertEqual(Path(self.dest).read_bytes(), self.DATA)

    def test_partial_file_longer_than_the_file_starts_over(self):
        Path(self.dest + ".part").write_bytes(b"x" * (len(self.DATA) + 10))
        self.assertTrue(self.download())
        self.assertEqual(Path(self.dest).read_bytes(), self.DATA)
        self.assertEqual([r for _, r in self.server.requests], [f"bytes={len(self.DATA) + 10}-", None])

    def test_missing_file_fails_after_the_attempts(self):
        ok = prepare.download_file(self.server.url + "/nope.parquet", self.dest, attempts=2, timeout=10,
                                   wait=0, log=self.messages.append)
        self.assertFalse(ok)
        self.assertEqual(len(self.server.requests), 2)
        self.assertFalse(os.path.exists(self.dest))
        self.assertIn("HTTP 404", self.messages[-1])

    def test_unreachable_server_fails(self):
        self.server.close()
        self.assertFalse(self.download(attempts=1))
        self.assertFalse(os.path.exists(self.dest))

    def test_existing_file_is_not_fetched_again(self):
        Path(self.dest).write_bytes(b"done")
        self.assertTrue(self.download())
        self.assertEqual(self.server.requests, [])
        self.assertEqual(Path(self.dest).read_bytes(), b"done")


class DownloadShardsTest(TempDirTest):
    def test_fetches_training_shards_and_the_pinned_validation_shard_once(self):
        names = [prepare.shard_name(i) for i in (0, 1, prepare.VAL_SHARD)]
        server = FileServer({f"/{name}": name.encode() * 100 for name in names})
        old_url = prepare.BASE_URL
        prepare.BASE_URL = server.url
        try:
            data_dir = str(self.tmp / "data")
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertTrue(prepare.download_shards(2, data_dir, workers=2))
                self.assertEqual(sorted(os.listdir(data_dir)), sorted(names))
                self.assertEqual(len(server.requests), 3)
                self.assertTrue(prepare.download_shards(2, data_dir, workers=2))  # all there: no request
            self.assertEqual(len(server.requests), 3)
            for name in names:
                self.assertEqual(Path(data_dir, name).read_bytes(), name.encode() * 100)
        finally:
            prepare.BASE_URL = old_url
            server.close()

    def test_names_and_content_range(self):
        self.assertEqual(prepare.shard_name(7), "shard_00007.parquet")
        self.assertEqual(prepare.shard_name(prepare.VAL_SHARD), f"shard_{prepare.MAX_SHARD:05d}.parquet")
        self.assertEqual(prepare.parse_content_range("bytes 100-999/1000"), (100, 1000))
        self.assertEqual(prepare.parse_content_range("bytes 0-9/*"), (0, None))
        with self.assertRaises(ValueError):
            prepare.parse_content_range("items 0-9/10")


class HelpersTest(unittest.TestCase):
    def test_take_chars_stops_after_the_limit(self):
        docs = ["a" * 10] * 10
        self.assertEqual(len(list(prepare.take_chars(iter(docs), 25))), 3)
        self.assertEqual(len(list(prepare.take_chars(iter(docs), 1000))), 10)

    def test_batches(self):
        self.assertEqual(list(prepare.batches(range(7), 3)), [[0, 1, 2], [3, 4, 5], [6]])
        self.assertEqual(list(prepare.batches([], 3)), [])

    def test_write_json_is_atomic_and_readable(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sub", "x.json")
            prepare.write_json(path, {"a": [1, 2]})
            self.assertEqual(json.loads(Path(path).read_text()), {"a": [1, 2]})
            self.assertEqual(os.listdir(os.path.dirname(path)), ["x.json"])


if __name__ == "__main__":
    unittest.main()
