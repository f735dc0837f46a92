"""
One-time data preparation for autoresearch, and the fixed parts every experiment shares.

    uv run prepare.py                                   # download web-text shards (needs internet)
    uv run prepare.py --num-shards 2                    # a smaller download, for a quick try
    uv run prepare.py --text 'books/*.txt' 'notes/**/*.md'   # build from local text files instead

It fills a cache directory (~/.cache/autoresearch, or $AUTORESEARCH_CACHE) with a BPE tokenizer
and the training and validation text as token ids. Running it again finds the cache and does
nothing. train.py imports from here: the constants, the dataloader, the training clock and
evaluate_bpb, the metric.

THE AGENT MUST NOT EDIT THIS FILE: it is what makes one experiment comparable with the next. It is
also the judge: evaluate_bpb refuses to score a model that sees future tokens or a run that took
too long, and writes its verdict to $AUTORESEARCH_RESULT_FILE, where the harness reads it.

Only the standard library is imported at the top, so the data bookkeeping below can be tested
without torch, numpy, pyarrow or tokenizers installed; functions import those when they need them.
"""

import argparse
import glob
import hashlib
import http.client
import json
import math
import os
import shutil
import sys
import time
import types
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

# ---------------------------------------------------------------------------
# Constants: fixed for every experiment, do not change
# ---------------------------------------------------------------------------

MAX_SEQ_LEN = 2048            # context length of training and evaluation
TIME_BUDGET = 300             # seconds of timed training per experiment (wall clock)
UNTIMED_STEPS = 5             # the first training steps (set-up, memory allocation) are trained on, not timed
# The most a run may spend outside timed training (start-up, compile, evaluation): past
# TIME_BUDGET + OVERHEAD_ALLOWANCE seconds, evaluate_bpb refuses to score and the program logs the run a crash.
OVERHEAD_ALLOWANCE = 180
EVAL_TOKENS = 16 * 2**20      # validation tokens scored by evaluate_bpb (fewer if the corpus is small)
EVAL_BATCH_SIZE = 16          # sequences per forward pass during evaluation
VOCAB_SIZE = 8192             # BPE vocabulary, special tokens included

BOS_TOKEN = "<|bos|>"         # starts every document; never scored
# How text is cut into pieces before BPE merges (GPT-4 style; digits in groups of at most two,
# which suits a small vocabulary).
SPLIT_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,2}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
TOKENIZER_TRAIN_CHARS = 500_000_000   # the tokenizer learns its merges from this much training text

# Downloaded corpus: FineWeb-Edu, pre-shuffled into parquet shards (a "text" column) on the Hugging Face hub.
BASE_URL = "https://huggingface.co/datasets/karpathy/fineweb-edu-100b-shuffle/resolve/main"
MAX_SHARD = 1822              # the last shard is shard_01822.parquet
VAL_SHARD = MAX_SHARD         # pinned: validation is always this shard, whatever else is downloaded
DEFAULT_TRAIN_SHARDS = 10     # roughly 250M characters each: together about what a 5-minute H100 run consumes

# Local text (--text): files are cut into documents of at most DOC_CHARS characters, preferably at
# blank lines; a document goes to validation when the hash of its text says so, so the split never
# depends on file order and a copy of a document cannot sit on both sides.
DOC_CHARS = 40_000
VAL_FRACTION = 0.05
# The least a cache must hold: the dataloader needs a micro-batch of rows (64, train.py's default
# DEVICE_BATCH_SIZE) plus the token after the last, evaluate_bpb one row plus that token.
MIN_TRAIN_TOKENS = 64 * MAX_SEQ_LEN + 1
MIN_VAL_TOKENS = MAX_SEQ_LEN + 1

CACHE_FORMAT = 2              # bump when the layout or the tokens of the cache change (2: a literal <|bos|> is text)
CACHE_DIR = os.environ.get("AUTORESEARCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "autoresearch")

# The judge works from copies taken when train.py imports this module: assigning prepare.EVAL_TOKENS
# (or CACHE_DIR, TIME_BUDGET, ...) afterwards changes nothing that is measured.
_JUDGE = types.MappingProxyType(dict(
    cache_dir=CACHE_DIR, seq_len=MAX_SEQ_LEN, eval_tokens=EVAL_TOKENS, batch_size=EVAL_BATCH_SIZE,
    time_budget=TIME_BUDGET, untimed_steps=UNTIMED_STEPS, wall_limit=TIME_BUDGET + OVERHEAD_ALLOWANCE,
    result_file=os.environ.get("AUTORESEARCH_RESULT_FILE"),  # set by the harness; unset when run by hand
))
_STARTED = time.monotonic()   # the run's clock starts when train.py imports prepare

# ---------------------------------------------------------------------------
# Cache layout and state
# ---------------------------------------------------------------------------

def cache_files(cache_dir=CACHE_DIR):
    """Where everything lives. data/ holds downloads and survives --force; the rest is derived."""
    return {
        "state": os.path.join(cache_dir, "cache.json"),        # what the cache is built from; "complete" once done
        "data": os.path.join(cache_dir, "data"),               # downloaded parquet shards
        "tokenizer": os.path.join(cache_dir, "tokenizer.json"),
        "token_bytes": os.path.join(cache_dir, "token_bytes.json"),  # UTF-8 length of each token id
        "train": os.path.join(cache_dir, "train.bin"),         # uint16 token ids, each document after a BOS
        "val": os.path.join(cache_dir, "val.bin"),             # the same, at most EVAL_TOKENS + 1 ids
    }


DERIVED = ("tokenizer", "token_bytes", "train", "val", "state")


def read_state(cache_dir=CACHE_DIR):
    """The cache's cache.json as a dict, or None when there is none (or it is unreadable)."""
    try:
        with open(cache_files(cache_dir)["state"], encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, obj):
    """Write JSON atomically: readers see the old file or the new one, never half of one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def cache_status(cache_dir, source):
    """'ready' (built from source), 'partial' (an interrupted build of source, to resume), 'outdated'
    (the same data in an older CACHE_FORMAT), 'other' (built from something else: experiments may
    depend on it) or 'empty' (nothing worth keeping)."""
    state = read_state(cache_dir)
    if state is None:
        return "empty"
    if state.get("source") == source:
        return "ready" if state.get("complete") else "partial"
    if not state.get("complete"):
        return "empty"
    built = dict(state.get("source") or {})
    if built.get("format") != source.get("format") and {**built, "format": source.get("format")} == source:
        return "outdated"  # the same data, tokenized by an older prepare.py
    return "other"


def remove_derived(cache_dir):
    """Delete everything but downloaded shards, so the next build starts clean."""
    files = cache_files(cache_dir)
    for key in DERIVED:
        for path in (files[key], files[key] + ".tmp"):
            if os.path.exists(path):
                os.remove(path)


def source_identity(kind, **fields):
    """What a cache is built from, plus the constants that shape it: two builds with equal identities
    produce the same tokens, so a cache is reused only when the identity matches."""
    return {"format": CACHE_FORMAT, "kind": kind, "vocab_size": VOCAB_SIZE, "eval_tokens": EVAL_TOKENS,
            "max_seq_len": MAX_SEQ_LEN, **fields}


def download_source(num_shards):
    return source_identity("download", url=BASE_URL, train_shards=num_shards, val_shard=VAL_SHARD)


def text_source(files):
    """Identity of a local corpus: the files' paths and sizes, hashed (the list itself can be huge)."""
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path}\t{os.path.getsize(path)}\n".encode("utf-8"))
    return source_identity("text", files=len(files), fingerprint=h.hexdigest(),
                           doc_chars=DOC_CHARS, val_fraction=VAL_FRACTION)

# ---------------------------------------------------------------------------
# Local text: files -> documents -> train / val
# ---------------------------------------------------------------------------

def expand_text_sources(patterns):
    """Files named by paths, directories (taken recursively) and globs (** allowed), sorted and
    without repeats. Hidden files and folders (.git, ...) are left out of directories, as glob does.
    A pattern that names no file is an error: a typo should not silently shrink the corpus."""
    files = set()
    for pattern in patterns:
        found = []
        for match in glob.glob(os.path.expanduser(pattern), recursive=True):
            if os.path.isdir(match):
                for root, dirs, names in os.walk(match):
                    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                    found.extend(os.path.join(root, name) for name in names if not name.startswith("."))
            elif os.path.isfile(match):
                found.append(match)
        found = [f for f in found if os.path.isfile(f)]  # drops broken links and sockets
        if not found:
            raise ValueError(f"--text {pattern!r} matches no file")
        files.update(os.path.realpath(f) for f in found)
    return sorted(files)


def read_text_file(path):
    """The file's text, or None when it is not UTF-8 text (binary files, other encodings)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    return None if "\x00" in text else text


def split_documents(text, max_chars=DOC_CHARS):
    """Cut text into pieces of at most max_chars, at a blank line or else a line end in the second half
    of each window when there is one. Joining the pieces gives the text back, less blank pieces."""
    docs = []
    start = 0
    while start < len(text):
        end = start + max_chars
        if end < len(text):
            lo = start + max_chars // 2
            for sep in ("\n\n", "\n"):
                cut = text.rfind(sep, lo, end)
                if cut != -1:
                    end = cut + len(sep)
                    break
        piece = text[start:end]
        if piece.strip():
            docs.append(piece)
        start = end
    return docs


def document_split(digest):
    """'val' for a fixed VAL_FRACTION of documents, decided by the document's hash alone."""
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < VAL_FRACTION else "train"


def load_text_corpus(files):
    """Read the files into train and val documents (in file order, exact repeats dropped).
    The corpus is held in memory: fine for the few GB a local-text run is meant for."""
    corpus = {"train": [], "val": [], "files": 0, "skipped_files": 0, "duplicates": 0, "chars": 0}
    seen = set()
    for path in files:
        text = read_text_file(path)
        if text is None:
            corpus["skipped_files"] += 1
            continue
        corpus["files"] += 1
        for doc in split_documents(text):
            digest = hashlib.sha256(doc.encode("utf-8")).digest()
            if digest in seen:
                corpus["duplicates"] += 1
                continue
            seen.add(digest)
            corpus[document_split(digest)].append(doc)
            corpus["chars"] += len(doc)
    return corpus

# ---------------------------------------------------------------------------
# Download: parquet shards with retries and resume
# ---------------------------------------------------------------------------

def shard_name(index):
    return f"shard_{index:05d}.parquet"


def parse_content_range(header):
    """'bytes 100-999/1000' -> (100, 1000); the total is None when the server writes '*'."""
    unit, _, rest = (header or "").strip().partition(" ")
    span, _, total = rest.partition("/")
    if unit != "bytes" or "-" not in span:
        raise ValueError(f"bad Content-Range: {header!r}")
    return int(span.split("-")[0]), (None if total == "*" else int(total))


def download_file(url, path, attempts=5, timeout=60, wait=2.0, log=print):
    """Fetch url into path and return True, or False after `attempts` failures. Bytes arrive in
    path + '.part' and are kept when a connection drops: the next attempt (or the next run) asks
    for the rest with an HTTP Range request. The file appears under its name only when complete."""
    if os.path.exists(path):
        return True
    part = path + ".part"
    name = os.path.basename(path)
    for attempt in range(1, attempts + 1):
        have = os.path.getsize(part) if os.path.exists(part) else 0
        headers = {"User-Agent": "autoresearch-prepare"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
                if have and response.status == 206:
                    start, total = parse_content_range(response.headers.get("Content-Range"))
                    if start != have:
                        raise OSError(f"server resumed at byte {start}, not {have}")
                else:  # a fresh download, or a server that ignored the range: start over
                    have = 0
                    length = response.headers.get("Content-Length")
                    total = int(length) if length is not None else None
                with open(part, "ab" if have else "wb") as f:
                    shutil.copyfileobj(response, f, 1 << 20)
            size = os.path.getsize(part)
            if total is not None and size != total:
                raise OSError(f"connection closed after {size} of {total} bytes")
            os.replace(part, path)
            return True
        except urllib.error.HTTPError as e:
            if e.code == 416 and os.path.exists(part):  # the partial file is no prefix of this file
                os.remove(part)
            error = f"HTTP {e.code}"
        except (OSError, http.client.HTTPException, ValueError) as e:
            error = str(e) or type(e).__name__
        kept = os.path.getsize(part) if os.path.exists(part) else 0
        log(f"  {name}: attempt {attempt}/{attempts} failed ({error}); {kept:,} bytes kept")
        if attempt < attempts:
            time.sleep(wait * 2 ** (attempt - 1))
    return False


def download_shards(num_shards, data_dir, workers=8):
    """Download training shards 0..num_shards-1 and the pinned validation shard. True if all arrived."""
    os.makedirs(data_dir, exist_ok=True)
    indices = list(range(num_shards)) + [VAL_SHARD]
    missing = [i for i in indices if not os.path.exists(os.path.join(data_dir, shard_name(i)))]
    print(f"Data: {len(indices) - len(missing)}/{len(indices)} shards already in {data_dir}")
    if not missing:
        return True

    def fetch(index):
        path = os.path.join(data_dir, shard_name(index))
        ok = download_file(f"{BASE_URL}/{shard_name(index)}", path)
        if ok:
            print(f"  {shard_name(index)}: {os.path.getsize(path) / 1e6:.1f} MB")
        return ok

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(missing)))) as pool:
        ok = sum(pool.map(fetch, missing))
    print(f"Data: downloaded {ok}/{len(missing)} shards")
    return ok == len(missing)


def iter_parquet_documents(paths):
    """Every document (the 'text' column) of the given parquet files, in order."""
    import pyarrow.parquet as pq
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=["text"]):
            yield from (text for text in batch.column(0).to_pylist() if text)

# ---------------------------------------------------------------------------
# Tokenizer and token files
# ---------------------------------------------------------------------------

def take_chars(docs, limit):
    """The documents, up to about limit characters in total."""
    n = 0
    for doc in docs:
        if n >= limit:
            return
        n += len(doc)
        yield doc


def batches(items, size):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def train_tokenizer(docs, files):
    """Learn a byte-level BPE tokenizer (Hugging Face tokenizers) and save it with the byte length
    of every token, which evaluate_bpb needs to turn nats per token into bits per byte."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    t0 = time.time()
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[BOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: any text can be encoded
        show_progress=True,
    )
    tokenizer.train_from_iterator(docs, trainer=trainer)

    # In a byte-level vocabulary each character of a token's string stands for one byte.
    bos = tokenizer.token_to_id(BOS_TOKEN)
    token_bytes = [0 if i == bos else len(tokenizer.id_to_token(i)) for i in range(tokenizer.get_vocab_size())]
    tokenizer.encode_special_tokens = True  # see write_tokens
    sample = f"def f(x):\n    return x ** 2  # naïve, 価格 €5\n\nThe quick {BOS_TOKEN} brown fox."
    ids = tokenizer.encode(sample, add_special_tokens=False).ids
    assert tokenizer.decode(ids) == sample, "tokenizer round trip failed"
    assert sum(token_bytes[i] for i in ids) == len(sample.encode("utf-8")), "token byte lengths are wrong"

    tokenizer.save(files["tokenizer"] + ".tmp")
    os.replace(files["tokenizer"] + ".tmp", files["tokenizer"])
    write_json(files["token_bytes"], token_bytes)
    print(f"Tokenizer: {len(token_bytes):,} tokens learned in {time.time() - t0:.0f}s -> {files['tokenizer']}")


def write_tokens(docs, path, tokenizer_path, limit=None):
    """Tokenize documents into a flat uint16 file, each document after a BOS; stop after `limit`
    tokens if given. Returns (tokens, documents) written."""
    import numpy as np
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(tokenizer_path)
    # Text is text: a literal "<|bos|>" in a document is encoded as its 7 bytes, not as the BOS token
    # (which would fake a document boundary and drop those bytes from val_bpb).
    tokenizer.encode_special_tokens = True
    bos = tokenizer.token_to_id(BOS_TOKEN)
    assert tokenizer.get_vocab_size() <= 2**16, "token ids must fit in uint16"
    n_tokens = n_docs = 0
    next_report = 50_000_000
    t0 = time.time()
    with open(path + ".tmp", "wb") as f:
        for batch in batches(docs, 1024):
            encoded = tokenizer.encode_batch(batch, add_special_tokens=False)
            ids = np.concatenate([np.array([bos] + e.ids, dtype=np.uint16) for e in encoded])
            if limit is not None:
                ids = ids[:limit - n_tokens]
            ids.tofile(f)
            n_tokens += len(ids)
            n_docs += len(batch)
            if n_tokens >= next_report:
                print(f"  {os.path.basename(path)}: {n_tokens / 1e6:,.0f}M tokens ({time.time() - t0:.0f}s)", flush=True)
                next_report += 50_000_000
            if limit is not None and n_tokens >= limit:
                break
    os.replace(path + ".tmp", path)
    return n_tokens, n_docs

# ---------------------------------------------------------------------------
# Building the cache
# ---------------------------------------------------------------------------

def build(cache_dir, source, description, documents):
    """Turn documents('train') / documents('val') into tokenizer, train.bin and val.bin, skipping
    whatever an interrupted earlier build of the same source already finished."""
    files = cache_files(cache_dir)
    stats = (read_state(cache_dir) or {}).get("stats", {})

    def save_state(complete, **extra):
        write_json(files["state"], {"source": source, "description": description, "complete": complete,
                                    "stats": stats, **extra})

    save_state(False)

    if os.path.exists(files["tokenizer"]) and os.path.exists(files["token_bytes"]):
        print(f"Tokenizer: already trained ({files['tokenizer']})")
    else:
        print(f"Tokenizer: training BPE (vocab {VOCAB_SIZE:,}) on up to {TOKENIZER_TRAIN_CHARS:,} characters...")
        train_tokenizer(take_chars(documents("train"), TOKENIZER_TRAIN_CHARS), files)
        stats = {}  # token files written with an earlier tokenizer are no longer valid

    for split, limit in (("val", EVAL_TOKENS + 1), ("train", None)):
        if os.path.exists(files[split]) and split in stats:
            print(f"{split}.bin: already written")
            continue
        print(f"{split}.bin: tokenizing...", flush=True)
        n_tokens, n_docs = write_tokens(documents(split), files[split], files["tokenizer"], limit)
        stats[split] = {"tokens": n_tokens, "documents": n_docs}
        save_state(False)

    problem = too_little_text(stats["train"]["tokens"], stats["val"]["tokens"])
    if problem:
        raise SystemExit(f"prepare.py: {problem}")
    save_state(True, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def too_little_text(train_tokens, val_tokens):
    """Why a corpus of this many tokens cannot be trained and evaluated on, or None when it can."""
    if train_tokens >= MIN_TRAIN_TOKENS and val_tokens >= MIN_VAL_TOKENS:
        return None
    return (f"too little text: {train_tokens:,} training and {val_tokens:,} validation tokens; at least "
            f"{MIN_TRAIN_TOKENS:,} training and {MIN_VAL_TOKENS:,} validation tokens are needed. Give it more.")


def print_report(cache_dir):
    files = cache_files(cache_dir)
    state = read_state(cache_dir)
    stats = state["stats"]
    print(f"Cache: {cache_dir}")
    print(f"  source:      {state['description']}")
    print(f"  tokenizer:   {files['tokenizer']} (vocab {VOCAB_SIZE:,})")
    for split in ("train", "val"):
        s = stats[split]
        print(f"  {split + '.bin:':<12} {s['tokens']:,} tokens from {s['documents']:,} documents "
              f"({os.path.getsize(files[split]) / 1e6:,.1f} MB)")
    if stats["val"]["tokens"] < EVAL_TOKENS + 1:
        print(f"  note: validation holds fewer than EVAL_TOKENS={EVAL_TOKENS:,} tokens; evaluate_bpb scores all of them")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Prepare data and tokenizer for autoresearch (run once).")
    parser.add_argument("--text", action="extend", nargs="+", metavar="PATH|GLOB",
                        help="build from local text files instead of downloading: files, directories or "
                             "globs (quote them; ** recurses); repeatable")
    parser.add_argument("--num-shards", type=int, default=None,
                        help=f"training shards to download (default {DEFAULT_TRAIN_SHARDS}, at most {MAX_SHARD}); "
                             "the validation shard is always added")
    parser.add_argument("--download-workers", type=int, default=8, help="parallel downloads (default 8)")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the cache from scratch, also one made from other data "
                             "(downloaded shards are kept)")
    args = parser.parse_args(argv)
    if args.text and args.num_shards is not None:
        parser.error("--num-shards applies to downloads, not to --text")
    if args.num_shards is None:
        args.num_shards = DEFAULT_TRAIN_SHARDS
    if not 1 <= args.num_shards <= MAX_SHARD:
        parser.error(f"--num-shards must be between 1 and {MAX_SHARD}")
    return args


def main(argv=None, cache_dir=CACHE_DIR):
    args = parse_args(argv)
    files = cache_files(cache_dir)
    if args.text:
        try:
            paths = expand_text_sources(args.text)
        except ValueError as e:
            raise SystemExit(f"prepare.py: {e}")
        source = text_source(paths)
        description = f"{len(paths):,} local files from {' '.join(args.text)}"
    else:
        source = download_source(args.num_shards)
        description = f"{args.num_shards} training shards + shard {VAL_SHARD} (validation) of {BASE_URL}"

    status = cache_status(cache_dir, source)
    if status == "ready" and not args.force:
        print("Cache is ready: nothing to do.")
        print_report(cache_dir)
        return 0
    if status == "outdated" and not args.force:
        built = read_state(cache_dir)["source"].get("format")
        raise SystemExit(f"prepare.py: the cache at {cache_dir} was built by an older prepare.py (cache format {built}, "
                         f"now {CACHE_FORMAT}) and its tokens differ from what this one makes.\n"
                         f"Rebuild it with --force (downloads are kept); results from before the rebuild do not "
                         f"compare with results after it, so start a new --tag.")
    if status == "other" and not args.force:
        built_from = read_state(cache_dir).get("description", "other data")
        raise SystemExit(f"prepare.py: the cache at {cache_dir} holds {built_from}, not {description}.\n"
                         f"Results on different data do not compare: use another cache (AUTORESEARCH_CACHE=DIR) "
                         f"or rebuild this one with --force.")

    # Gather the documents first: if that fails, the cache is left as it was.
    if args.text:
        print(f"Text: reading {len(paths):,} files...")
        corpus = load_text_corpus(paths)
        print(f"Text: {corpus['files']:,} files read, {corpus['skipped_files']:,} skipped (not UTF-8 text), "
              f"{corpus['duplicates']:,} repeated documents dropped; {corpus['chars']:,} characters in "
              f"{len(corpus['train']):,} training and {len(corpus['val']):,} validation documents")
        if not corpus["train"] or not corpus["val"]:
            raise SystemExit("prepare.py: too little text to hold out a validation set; give more files.")
        documents = lambda split: iter(corpus[split])
    else:
        if not download_shards(args.num_shards, files["data"], args.download_workers):
            raise SystemExit("prepare.py: some shards could not be downloaded; run it again to resume.")
        shards = {"train": [os.path.join(files["data"], shard_name(i)) for i in range(args.num_shards)],
                  "val": [os.path.join(files["data"], shard_name(VAL_SHARD))]}
        documents = lambda split: iter_parquet_documents(shards[split])

    if status == "partial" and not args.force:
        print("Cache: resuming an interrupted build.")
    else:
        print(f"Cache: building in {cache_dir}")
        remove_derived(cache_dir)  # nothing of another (or an abandoned) build may be reused
    build(cache_dir, source, description, documents)
    print("Done.")
    print_report(cache_dir)
    return 0

# ---------------------------------------------------------------------------
# Used by train.py: the dataloader and the evaluation
# ---------------------------------------------------------------------------

def _require_cache(cache_dir):
    state = read_state(cache_dir)
    if not (state and state.get("complete")):
        raise SystemExit(f"No prepared data in {cache_dir}: run `uv run prepare.py` first.")
    built = (state.get("source") or {}).get("format")
    if built != CACHE_FORMAT:
        raise SystemExit(f"The data in {cache_dir} was prepared by an older prepare.py (cache format {built}, now "
                         f"{CACHE_FORMAT}): rebuild it with `uv run prepare.py --force` (plus the --text you used, if any).")
    return cache_files(cache_dir)


def make_dataloader(B, T, device="cuda", seed=1337, cache_dir=CACHE_DIR):
    """Endless (x, y, epoch) batches of training tokens on the device: x and y are (B, T) int64, y is
    x shifted by one. The token stream is cut into rows of T tokens, visited in a fresh random order
    each epoch, so every token is trained on once per epoch."""
    import numpy as np
    import torch

    tokens = np.memmap(_require_cache(cache_dir)["train"], dtype=np.uint16, mode="r")
    n_rows = (len(tokens) - 1) // T
    assert n_rows >= B, f"only {n_rows} rows of {T} training tokens, fewer than a batch of {B}"
    rng = np.random.default_rng(seed)
    offsets = np.arange(T + 1)
    epoch = 1
    while True:
        order = rng.permutation(n_rows)
        for i in range(0, n_rows - B + 1, B):
            rows = torch.from_numpy(tokens[order[i:i + B, None] * T + offsets].astype(np.int64))
            if torch.device(device).type == "cuda":
                rows = rows.pin_memory().to(device, non_blocking=True)
            yield rows[:, :-1], rows[:, 1:], epoch
        epoch += 1


class TrainingClock:
    """Counts training time against TIME_BUDGET. train.py times each optimizer step, passes the seconds
    to tick(), and trains while not done. The first UNTIMED_STEPS steps (compilation, memory
    allocation) are trained on but not counted; everything else is."""

    def __init__(self):
        self.steps = 0
        self.timed_steps = 0
        self.seconds = 0.0            # timed training: what TIME_BUDGET limits
        self.untimed_seconds = 0.0

    def tick(self, seconds):
        self.steps += 1
        if self.steps <= _JUDGE["untimed_steps"]:
            self.untimed_seconds += seconds
        else:
            self.timed_steps += 1
            self.seconds += seconds

    @property
    def progress(self):
        """Share of the budget used so far, in [0, 1]: what learning-rate schedules follow."""
        return min(1.0, self.seconds / _JUDGE["time_budget"])

    @property
    def done(self):
        return self.seconds >= _JUDGE["time_budget"]


class RefusedToScore(RuntimeError):
    """evaluate_bpb will not give this run a val_bpb; the message says why."""


def write_result(result, path):
    """Hand the verdict to the harness: one JSON object, {"val_bpb": ...} or {"error": ...}, written
    atomically (the harness never reads half a file). Nothing is written when run by hand."""
    if not path:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(result) + "\n")
    os.replace(tmp, path)


def check_wall_time(elapsed):
    """Refuse a run that spent longer than TIME_BUDGET + OVERHEAD_ALLOWANCE seconds: beyond training,
    the slack is meant for start-up, compilation and evaluation, not for untimed training."""
    if elapsed > _JUDGE["wall_limit"]:
        raise RefusedToScore(f"the run took {elapsed:.0f}s, over the limit of {_JUDGE['wall_limit']}s "
                             f"(TIME_BUDGET + OVERHEAD_ALLOWANCE): not scored")


def evaluate_bpb(model):
    """THE METRIC: bits per byte of the validation text, lower is better. Call it once, at the end.

    model(x) must return logits of shape (B, T, vocab) for int64 token ids x of shape (B, T).
    Every prepared validation token (up to EVAL_TOKENS) is predicted once, from rows of MAX_SEQ_LEN,
    EVAL_BATCH_SIZE rows at a time, in eval mode, under bf16 autocast, without gradients. The summed
    cross-entropy (nats) is divided by ln 2 times the UTF-8 bytes those tokens stand for, which makes
    the number independent of the tokenizer. BOS targets are not scored.

    It refuses to score (writes the reason as the result and raises RefusedToScore) a model whose
    predictions depend on later tokens, and a run over TIME_BUDGET + OVERHEAD_ALLOWANCE seconds."""
    try:
        bpb, n_tokens = score_bpb(model, _JUDGE["cache_dir"], _JUDGE["seq_len"], _JUDGE["eval_tokens"],
                                  _JUDGE["batch_size"])
        elapsed = time.monotonic() - _STARTED
        check_wall_time(elapsed)
    except RefusedToScore as e:
        write_result({"error": str(e)}, _JUDGE["result_file"])
        raise
    write_result({"val_bpb": bpb, "eval_tokens": n_tokens, "elapsed_seconds": round(elapsed, 1)}, _JUDGE["result_file"])
    return bpb


def eval_rows(n_val_tokens, seq_len, eval_tokens, batch_size):
    """The batches evaluate_bpb scores: lists of row numbers, row r being validation tokens
    r * seq_len .. (r + 1) * seq_len (the last one only as a target)."""
    n_rows = min(eval_tokens, n_val_tokens - 1) // seq_len
    return [list(range(start, min(start + batch_size, n_rows))) for start in range(0, n_rows, batch_size)]


def score_bpb(model, cache_dir, seq_len, eval_tokens, batch_size):
    """evaluate_bpb's measurement, with its settings spelled out: (bits per byte, tokens scored).
    The first batch also serves the causality check."""
    files = _require_cache(cache_dir)
    import numpy as np
    import torch
    import torch.nn.functional as F

    tokens = np.fromfile(files["val"], dtype=np.uint16)
    with open(files["token_bytes"], encoding="utf-8") as f:
        token_bytes_list = json.load(f)
    device = next(model.parameters()).device
    token_bytes = torch.tensor(token_bytes_list, dtype=torch.int64, device=device)
    offsets = np.arange(seq_len + 1)
    batches = eval_rows(len(tokens), seq_len, eval_tokens, batch_size)

    was_training = model.training
    model.eval()
    total_nats = torch.zeros((), dtype=torch.float64, device=device)
    total_bytes = torch.zeros((), dtype=torch.int64, device=device)
    with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        for i, rows in enumerate(batches):
            rows = np.array(rows)
            batch = torch.from_numpy(tokens[rows[:, None] * seq_len + offsets].astype(np.int64)).to(device)
            x, y = batch[:, :-1], batch[:, 1:].reshape(-1)
            logits = model(x)
            if logits.shape[:2] != x.shape or logits.size(-1) < len(token_bytes_list):
                raise RefusedToScore(f"model(x) must return (B, T, vocab) logits, got {tuple(logits.shape)}")
            if i == 0:
                check_causal(model, x, logits, len(token_bytes_list))
            nats = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y, reduction="none")
            nbytes = token_bytes[y]
            total_nats += (nats.double() * (nbytes > 0)).sum()
            total_bytes += nbytes.sum()
    model.train(was_training)
    bpb = total_nats.item() / (math.log(2) * total_bytes.item())
    if not math.isfinite(bpb):
        raise RefusedToScore(f"val_bpb is {bpb}: the model's logits are not finite")
    return bpb, sum(len(rows) for rows in batches) * seq_len


def check_causal(model, x, logits, vocab):
    """Refuse a model whose predictions depend on tokens after the one they predict from (a mask, an
    is_causal flag or a target shift gone wrong gives a wonderful val_bpb). Later tokens of each row,
    and whole later rows (the text that follows), are changed: the logits of the rest must not move
    by more than the model's own run-to-run noise."""
    import torch

    B, T = x.shape
    first = logits.float().clone()  # a copy: a CUDA-graph model overwrites its output on the next call
    if not torch.isfinite(first).all():
        return  # no finite logits to compare: scoring refuses a non-finite val_bpb instead
    noise = (model(x).float() - first).abs().max().item()
    kept_rows = max(1, B // 2)
    for split in sorted({max(1, T // 4), max(1, T // 2), max(1, 3 * T // 4)}):
        changed = x.clone()
        changed[:, split:] = (x[:, split:] + 1) % vocab
        changed[kept_rows:] = (x[kept_rows:] + 1) % vocab
        moved = (model(changed).float() - first)[:kept_rows, :split].abs().max().item()
        if not moved <= 1e-3 + 4 * noise:
            raise RefusedToScore(f"the model sees future tokens (causality check failed: changing tokens from "
                                 f"position {split} on moved the logits before it by {moved:.3g})")


if __name__ == "__main__":
    sys.exit(main())
