"""The processes bench/scale_bench.py measures, one per figure group, each started fresh:

    scale_children.py build  SPEC OUT   # open + add_embeddings in batches + refresh + close
    scale_children.py brute  SPEC OUT   # numpy float32 MaxSim over every page, streamed
    scale_children.py search SPEC OUT   # reopen, warm-up RSS, text/image/similar queries, exact=True, filter

SPEC is the JSON scale_bench.prepare() writes; OUT gets this process' figures as JSON. BLAS threads are
pinned to one (OMP_NUM_THREADS/OPENBLAS_NUM_THREADS, inherited from scale_bench, set here too) before numpy
is imported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from measure import peak_rss, timed  # noqa: E402

NEEDLE_KEY = "bench_needle"
NEEDLE_VALUE = "yes"
MIN_FREE_DISK = 1 * 2**30
BRUTE_BLOCK_VECTORS = 262_144  # ~128 MiB of float32 128-d vectors in RAM at a time


def needle_pages(pages: int) -> list[int]:
    """The 3 pages that carry the filter metadata: spread over the corpus (distinct when pages >= 3)."""
    return sorted({0, pages // 2, pages - 1} if pages >= 3 else set(range(pages)))


def _log(kind: str, message: str) -> None:
    print(f"  [{kind}] {message}", file=sys.stderr, flush=True)


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _source(spec: dict[str, Any]) -> Any:
    from generators import make_source

    return make_source(spec["generator"], spec["pages"], spec["seed"])


# ---- build ----------------------------------------------------------------------------------------------
def build(spec: dict[str, Any]) -> dict[str, Any]:
    import pagelens
    from generators import batches

    source = _source(spec)
    folder = Path(spec["folder"])
    needles = set(needle_pages(source.count))

    def metadata(index: int) -> dict[str, Any] | None:
        return {NEEDLE_KEY: NEEDLE_VALUE} if index in needles else None

    started = time.perf_counter()
    index = pagelens.open(folder)
    open_s = time.perf_counter() - started
    add_s = generate_s = 0.0
    done = vectors = 0
    documents: set[str] = set()
    next_report = 0.1
    for batch, seconds in timed(batches(source, spec["batch_pages"], metadata)):
        generate_s += seconds
        timer = time.perf_counter()
        index.add_embeddings(batch)
        add_s += time.perf_counter() - timer
        done += len(batch)
        vectors += sum(len(r["embedding"]) for r in batch)
        documents |= {r["path"] for r in batch}
        if shutil.disk_usage(folder).free < MIN_FREE_DISK:
            index.close()
            raise SystemExit(f"stopped after {done:,} pages: less than 1 GiB of disk left under {folder}")
        if done >= next_report * source.count or done == source.count:
            _log(
                "build",
                f"{done:,}/{source.count:,} pages ({done / add_s:,.1f} pages/s, RSS {_rss() / 2**30:.2f} GiB)",
            )
            next_report += 0.1
    timer = time.perf_counter()
    index.refresh()
    refresh_s = time.perf_counter() - timer
    timer = time.perf_counter()
    index.close()
    close_s = time.perf_counter() - timer
    return {
        "open_s": open_s,
        "add_s": add_s,
        "refresh_s": refresh_s,
        "close_s": close_s,
        "build_s": open_s + add_s + refresh_s + close_s,
        "generate_s": generate_s,
        "vectors": vectors,
        "documents": len(documents),
        "peak_rss": peak_rss(),
    }


# ---- numpy brute force ----------------------------------------------------------------------------------
def _queries(spec: dict[str, Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    with np.load(spec["queries_file"]) as data:
        text = [data[f"text{i}"].astype(np.float32) for i in range(spec["text_queries"])]
        images = [data[f"image{i}"].astype(np.float32) for i in range(spec["image_queries"])]
    return text, images


def brute(spec: dict[str, Any]) -> dict[str, Any]:
    """float32 MaxSim of each of the first `exact_text` text queries against every page, pages streamed in
    blocks of ~BRUTE_BLOCK_VECTORS vectors: only the matmul + max + sum are timed (per query, summed over
    blocks), as if every page sat in RAM."""
    source = _source(spec)
    queries = _queries(spec)[0][: spec["exact_text"]]
    seconds = np.zeros(len(queries))
    scores = np.empty((len(queries), source.count), dtype=np.float32)
    generate_s = 0.0
    start = 0
    while start < source.count:
        timer = time.perf_counter()
        pages, total = [], 0
        while start + len(pages) < source.count and (not pages or total < BRUTE_BLOCK_VECTORS):
            pages.append(source.vectors(start + len(pages)))
            total += len(pages[-1])
        flat = np.concatenate(pages)
        offsets = np.cumsum([0] + [len(p) for p in pages[:-1]])
        generate_s += time.perf_counter() - timer
        for q, query in enumerate(queries):
            timer = time.perf_counter()
            sims = query @ flat.T  # (q, vectors of the block)
            maxima = np.maximum.reduceat(sims, offsets, axis=1)  # (q, pages of the block)
            scores[q, start : start + len(pages)] = maxima.sum(axis=0)
            seconds[q] += time.perf_counter() - timer
        start += len(pages)
    rankings = []
    for q in range(len(queries)):
        order = np.lexsort((np.arange(source.count), -scores[q]))[: spec["k"]]
        rankings.append([list(source.info(int(i))) for i in order])
    return {
        "seconds": seconds.tolist(),
        "rankings": rankings,
        "generate_s": generate_s,
        "peak_rss": peak_rss(),
    }


# ---- search in a fresh process ---------------------------------------------------------------------------
def _keys(hits: list[Any]) -> list[list[Any]]:
    return [[h.path, h.page] for h in hits]


def _recall(found: list[list[Any]], reference: list[list[Any]]) -> float:
    want = {tuple(x) for x in reference}
    return len({tuple(x) for x in found} & want) / len(want) if want else 1.0


def search(spec: dict[str, Any]) -> dict[str, Any]:
    import pagelens

    k = spec["k"]
    text, images = _queries(spec)
    load_start = os.getloadavg()[0]
    rss_start = _rss()
    timer = time.perf_counter()
    index = pagelens.open(spec["folder"])
    open_s = time.perf_counter() - timer
    timer = time.perf_counter()
    index.search_embedding(text[0], k=k)
    first_s = time.perf_counter() - timer
    _log(
        "search", f"reopen: open {open_s:.2f} s + first search {first_s:.2f} s; RSS {_rss() / 2**30:.2f} GiB"
    )
    for query in text[1:3]:  # warm-up
        index.search_embedding(query, k=k)
    rss_warm = _rss()
    out: dict[str, Any] = {
        "open_s": open_s,
        "first_search_s": first_s,
        "reopen_s": open_s + first_s,
        "rss_start": rss_start,
        "rss_warm": rss_warm,
        "exact_text": spec["exact_text"],
        "exact_image": spec["exact_image"],
        "exact_similar": spec["exact_similar"],
    }

    def timed_call(call: Any) -> tuple[float, list[list[Any]], float]:
        timer = time.perf_counter()
        hits = call()
        return time.perf_counter() - timer, _keys(hits), float(sum(h.score for h in hits))

    def measure(name: str, calls: list[Any], exact_calls: list[Any]) -> None:
        seconds, found, sums = zip(*(timed_call(c) for c in calls), strict=True) if calls else ((), (), ())
        out[f"{name}_seconds"] = list(seconds)
        exact_seconds, references, exact_sums = (
            zip(*(timed_call(c) for c in exact_calls), strict=True) if exact_calls else ((), (), ())
        )
        out[f"{name}_exact_seconds"] = list(exact_seconds)
        out[f"{name}_exact_rankings"] = list(references)
        out[f"{name}_recalls"] = [_recall(f, r) for f, r in zip(found, references, strict=False)]
        # sum of the returned top-k's exact scores / the exact top-k's: 1.0 when what was missed was a near-tie
        out[f"{name}_score_ratios"] = [a / b if b else 1.0 for a, b in zip(sums, exact_sums, strict=False)]
        if out[f"{name}_recalls"]:
            _log(
                "search",
                f"{name}: p50 {np.median(seconds) * 1000:,.1f} ms, exact p50 {np.median(exact_seconds) * 1000:,.1f} ms, "
                f"recall {np.mean(out[f'{name}_recalls']):.3f} (worst {min(out[f'{name}_recalls']):.2f})",
            )

    def query_call(query: np.ndarray, exact: bool) -> Any:
        return lambda: index.search_embedding(query, k=k, exact=exact)

    measure(
        "text",
        [query_call(q, False) for q in text],
        [query_call(q, True) for q in text[: spec["exact_text"]]],
    )
    measure(
        "image",
        [query_call(q, False) for q in images],
        [query_call(q, True) for q in images[: spec["exact_image"]]],
    )
    page_ids = [index.find_page(path, page) for path, page in spec["similar_pages"]]

    def similar_call(page_id: int, exact: bool) -> Any:
        return lambda: index.similar(page_id, k=k, exact=exact)

    measure(
        "similar",
        [similar_call(p, False) for p in page_ids],
        [similar_call(p, True) for p in page_ids[: spec["exact_similar"]]],
    )

    needles = {tuple(x) for x in spec["needles"]}
    found_all: set[tuple[Any, ...]] = set()
    timer = time.perf_counter()
    default = _keys(index.search_embedding(text[0], k=k, filter={"metadata": {NEEDLE_KEY: NEEDLE_VALUE}}))
    out["filter_seconds"] = time.perf_counter() - timer
    exact = _keys(
        index.search_embedding(text[0], k=k, exact=True, filter={"metadata": {NEEDLE_KEY: NEEDLE_VALUE}})
    )
    for hits in (default, exact):
        found_all |= {tuple(x) for x in hits}
    out["filter_found"] = len(found_all & needles)
    out["filter_extra"] = len(found_all - needles)
    out["filter_ok"] = {tuple(x) for x in default} == needles and {tuple(x) for x in exact} == needles
    out["rss_end"] = _rss()
    index.close()
    out["peak_rss"] = peak_rss()
    out["load"] = [load_start, os.getloadavg()[0]]
    return out


def main(argv: list[str]) -> int:
    kind, spec_file, out_file = argv
    spec = json.loads(Path(spec_file).read_text())
    result = {"build": build, "brute": brute, "search": search}[kind](spec)
    tmp = Path(out_file + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(out_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
