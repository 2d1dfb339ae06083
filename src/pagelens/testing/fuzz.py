"""Hostile inputs for robustness runs: mutated PDFs and images of extreme shapes and odd formats.

Used by tests/test_fuzz_inputs.py (a few dozen files, in the default test run) and bench/fuzz_inputs.py
(several hundred). Everything is made here, deterministically from a seed, from documents this module also
makes, so neither needs files from outside the repository.

    python -m pagelens.testing.fuzz OUT_DIR [--mutations N] [--seed S]
"""

from __future__ import annotations

import argparse
import io
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: How each mutation changes a PDF's bytes.
Mutation = Callable[[bytes, random.Random], bytes]


@dataclass(frozen=True)
class FuzzFile:
    """A file written by `write_fuzz_set`. `good_pages` is the page count of an input that must index
    completely (None: it may fail, but must be accounted for with a reason)."""

    path: Path
    kind: str
    good_pages: int | None


# ---- base documents ---------------------------------------------------------------------------------------
def base_pdf(pages: int = 3, seed: int = 0) -> bytes:
    """A small real PDF: text, a table and a bar chart drawn as vector graphics, one per page, compressed
    streams, fonts and an xref table, as real producers write them (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(seed)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    width, height = A4
    for number in range(1, pages + 1):
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(72, height - 72, f"Quarterly report {seed}-{number}")
        pdf.setFont("Helvetica", 11)
        for line in range(12):
            pdf.drawString(
                72, height - 110 - 16 * line, f"Revenue line {line}: {rng.randint(100, 9999)} units"
            )
        for row in range(5):
            for col in range(4):
                pdf.rect(72 + col * 110, 300 - row * 22, 110, 22)
                pdf.drawString(78 + col * 110, 306 - row * 22, str(rng.randint(0, 999)))
        for bar in range(8):
            pdf.rect(72 + bar * 50, 80, 30, rng.randint(20, 160), fill=1)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# ---- PDF mutations ----------------------------------------------------------------------------------------
def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 40)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randint(len(data) // 10, len(data) - 1)]


def zero_range(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    length = rng.randint(16, max(17, len(data) // 8))
    return data[:start] + b"\0" * min(length, len(data) - start) + data[start + length :]


def duplicate_xref(data: bytes, rng: random.Random) -> bytes:
    """The xref section and trailer appended again (as a broken incremental save leaves them)."""
    at = data.rfind(b"xref")
    if at < 0:
        return flip_bytes(data, rng)
    tail = data[at:]
    if rng.random() < 0.5:  # the copy points at a wrong startxref
        tail = re.sub(rb"startxref\s+\d+", b"startxref " + str(rng.randrange(len(data))).encode(), tail)
    return data + b"\n" + tail


def break_xref_offsets(data: bytes, rng: random.Random) -> bytes:
    """Every xref entry's offset shifted: objects are not where the table says."""
    shift = rng.randint(1, 500)

    def move(match: re.Match[bytes]) -> bytes:
        return b"%010d" % (int(match.group(1)) + shift) + match.group(2)

    return re.sub(rb"(\d{10})( \d{5} n)", move, data)


def huge_mediabox(data: bytes, rng: random.Random) -> bytes:
    """A page 595 x 2,147,483,648 pt: what a malformed PDF seen in the wild opens as."""
    return re.sub(
        rb"/MediaBox\s*\[[^\]]*\]", b"/MediaBox [ 0 0 595 2147483648 ]", data, count=rng.randint(1, 3)
    )


def drop_objects(data: bytes, rng: random.Random) -> bytes:
    objects = list(re.finditer(rb"\d+ 0 obj.*?endobj", data, flags=re.S))
    if not objects:
        return truncate(data, rng)
    victim = rng.choice(objects)
    return data[: victim.start()] + data[victim.end() :]


MUTATIONS: dict[str, Mutation] = {
    "flip": flip_bytes,
    "truncate": truncate,
    "zero": zero_range,
    "xref-dup": duplicate_xref,
    "xref-offsets": break_xref_offsets,
    "huge-mediabox": huge_mediabox,
    "drop-object": drop_objects,
}


# ---- images -----------------------------------------------------------------------------------------------
def _extreme_images(folder: Path) -> list[FuzzFile]:
    """Images every decoder opens, in shapes and formats processors find hard. All must index."""
    from PIL import Image, ImageDraw

    def drawn(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
        image = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(image)
        for i in range(0, max(size), max(1, max(size) // 20)):
            draw.line((0, i, size[0], i), fill=(i % 255, 40, 90), width=max(1, min(size) // 30))
        return image.convert(mode) if mode != "RGB" else image

    files: list[FuzzFile] = []

    def add(name: str, save: Callable[[Path], None]) -> None:
        path = folder / name
        save(path)
        files.append(FuzzFile(path, "image", 1))

    add("wide-20000x60.png", lambda p: drawn((20000, 60)).save(p))
    add("tall-60x20000.png", lambda p: drawn((60, 20000)).save(p))
    add("pixel-1x1.png", lambda p: Image.new("RGB", (1, 1), "black").save(p))
    add("big-12000x12000.png", lambda p: drawn((12000, 12000)).save(p, optimize=False))
    add("sixteen-bit.png", lambda p: drawn((300, 200)).convert("I;16").save(p))
    add("cmyk.jpg", lambda p: drawn((320, 240), "CMYK").save(p, quality=80))

    def animated(path: Path) -> None:
        frames = [drawn((200, 150)).rotate(angle) for angle in (0, 30, 60)]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)

    add("animated.gif", animated)

    def rotated(path: Path) -> None:
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
        drawn((400, 200)).save(path, exif=exif.tobytes())

    add("exif-rotated.jpg", rotated)
    return files


# ---- the set ------------------------------------------------------------------------------------------------
def write_fuzz_set(folder: Path, mutations: int = 24, seed: int = 0) -> list[FuzzFile]:
    """Write good PDFs, `mutations` mutated copies of them (every kind of mutation in turn) and the extreme
    images into `folder`; return what was written, with what each must yield."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files: list[FuzzFile] = []
    bases = [base_pdf(pages, seed=seed + pages) for pages in (1, 2, 3)]
    for number, data in enumerate(bases, start=1):
        path = folder / f"good-{number}.pdf"
        path.write_bytes(data)
        files.append(FuzzFile(path, "pdf", number))
    names = sorted(MUTATIONS)
    for number in range(mutations):
        name = names[number % len(names)]
        mutated = MUTATIONS[name](rng.choice(bases), rng)
        path = folder / f"mutant-{number:04d}-{name}.pdf"
        path.write_bytes(mutated)
        files.append(FuzzFile(path, "pdf", None))
    files.extend(_extreme_images(folder))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mutations", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = write_fuzz_set(args.folder, args.mutations, args.seed)
    print(f"wrote {len(files)} files to {args.folder}")


if __name__ == "__main__":
    main()
