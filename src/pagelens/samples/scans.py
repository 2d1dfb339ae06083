"""Scanned-looking pages: drawn with Pillow in Vera, then aged like a scan (a small rotation, blur, paper
tint, sensor noise and specks), all from fixed seeds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from pagelens.samples.fonts import raster_font

# A4 at 100 dpi
WIDTH, HEIGHT = 827, 1169
MARGIN = 70
INK = 35


def _wrap(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> list[str]:
    font = raster_font(size)
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    return [*lines, line] if line else lines


class Sheet:
    """A blank page and a cursor that writes downwards."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.image = Image.new("L", (width, height), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = MARGIN
        self.width = width

    def text(self, text: str, size: int = 15, style: str = "regular", x: int = MARGIN, gap: int = 6) -> None:
        self.draw.text((x, self.y), text, font=raster_font(size, style), fill=INK)
        self.y += size + gap

    def paragraph(self, text: str, size: int = 15) -> None:
        for line in _wrap(self.draw, text, size, self.width - 2 * MARGIN):
            self.text(line, size, gap=5)
        self.y += 10

    def rule(self, gap: int = 12) -> None:
        self.draw.line((MARGIN, self.y, self.width - MARGIN, self.y), fill=INK, width=2)
        self.y += gap

    def table(self, header: list[str], rows: list[list[str]], widths: list[int], size: int = 14) -> None:
        height = size + 14
        x0 = MARGIN
        for r, row in enumerate([header, *rows]):
            x = x0
            for text, width in zip(row, widths, strict=True):
                self.draw.rectangle((x, self.y, x + width, self.y + height), outline=INK, width=1)
                style = "bold" if r == 0 else "regular"
                self.draw.text((x + 6, self.y + 6), text, font=raster_font(size, style), fill=INK)
                x += width
            self.y += height
        self.y += 14

    def signature(self, seed: int, label: str) -> None:
        rng = np.random.default_rng(seed)
        x, y = MARGIN + 10.0, self.y + 30.0
        points = [(x, y)]
        for _ in range(60):
            x += float(rng.uniform(2, 6))
            y = min(max(y + float(rng.normal(0, 7)), self.y + 5), self.y + 55)
            points.append((x, y))
        self.draw.line(points, fill=20, width=2, joint="curve")
        self.y += 65
        self.draw.line((MARGIN, self.y, MARGIN + 280, self.y), fill=INK, width=1)
        self.y += 6
        self.text(label, 13)

    def stamp(self, text: str, centre: tuple[int, int], radius: int = 70) -> None:
        cx, cy = centre
        self.draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=90, width=4)
        font = raster_font(18, "bold")
        length = self.draw.textlength(text, font=font)
        self.draw.text((cx - length / 2, cy - 10), text, font=font, fill=90)


def age(image: Image.Image, seed: int, angle: float) -> Image.Image:
    """Make a clean page look scanned: rotated, softened, tinted, noisy, with specks; RGB."""
    rng = np.random.default_rng(seed)
    page = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    page = page.filter(ImageFilter.GaussianBlur(0.7))
    pixels = np.asarray(page, dtype=np.float32)
    pixels = pixels * 0.88 + 18  # grey paper, ink not quite black
    shade = np.linspace(0, 14, pixels.shape[1], dtype=np.float32)[None, :]  # uneven scanner light
    pixels = pixels - shade + rng.normal(0, 9, pixels.shape).astype(np.float32)
    specks = rng.random(pixels.shape) < 0.0008
    pixels[specks] = rng.uniform(40, 120, int(specks.sum()))
    grey = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    tint = Image.merge("RGB", (grey, grey.point(lambda v: v * 0.985), grey.point(lambda v: v * 0.95)))
    return tint


def scanned(draw: Callable[[Sheet], None], seed: int, angle: float) -> Image.Image:
    sheet = Sheet()
    draw(sheet)
    return age(sheet.image, seed, angle)


def auditor_letter(sheet: Sheet) -> None:
    sheet.text("HARTLEY & MOSS LLP", 24, "bold")
    sheet.text("Independent auditors  ·  14 Quay Street, Bristol", 13)
    sheet.rule(30)
    sheet.text("Independent auditor's report to the shareholders of Northwind Outfitters plc", 16, "bold")
    sheet.y += 10
    sheet.paragraph(
        "Opinion. We have audited the consolidated financial statements of Northwind Outfitters plc for the "
        "year ended 31 December 2024, which comprise the balance sheet, the income statement, the statement "
        "of cash flows and the notes. In our opinion the statements give a true and fair view of the group's "
        "financial position and of its revenue, operating income and cash flows for the year."
    )
    sheet.paragraph(
        "Basis for opinion. We conducted our audit in accordance with International Standards on Auditing. "
        "Our responsibilities are described in the section on the audit of the financial statements. We are "
        "independent of the group and we believe the evidence we obtained is sufficient and appropriate."
    )
    sheet.paragraph(
        "Key audit matters. Revenue recognition for online orders and returns; the valuation of inventory "
        "held in the three regional warehouses; and the impairment review of the Asia Pacific stores."
    )
    sheet.y += 30
    sheet.signature(31, "Eleanor Hartley, senior statutory auditor, 3 March 2025")
    sheet.stamp("AUDITED", (WIDTH - 190, sheet.y - 60))


def inspection_form(sheet: Sheet) -> None:
    sheet.text("WAREHOUSE SAFETY INSPECTION", 26, "bold")
    sheet.text("Form WS-7  ·  Northwind Outfitters distribution centre, Leeds", 13)
    sheet.rule(24)
    for label, value in (
        ("Site", "Leeds DC, building B"),
        ("Date of inspection", "14 October 2024"),
        ("Inspector", "R. Okafor (H&S officer)"),
    ):
        sheet.text(f"{label}:  {value}", 16)
    sheet.y += 16
    checks = [
        ["Fire exits clear and signed", "X", ""],
        ["Extinguishers inspected (tags)", "X", ""],
        ["Racking load labels visible", "", "X"],
        ["Forklift daily checks logged", "X", ""],
        ["Spill kits stocked", "X", ""],
        ["First aid boxes complete", "", "X"],
        ["Emergency lighting tested", "X", ""],
        ["Loading dock edge markings", "X", ""],
    ]
    sheet.table(["Checklist item", "Pass", "Fail"], checks, [460, 110, 110])
    sheet.text("Comments", 16, "bold")
    sheet.paragraph(
        "Aisle 14 racking has two missing load labels. First aid box at dock 3 is short of burn dressings. "
        "Both to be fixed within 7 days; see corrective actions overleaf."
    )


def inspection_actions(sheet: Sheet) -> None:
    sheet.text("CORRECTIVE ACTIONS", 24, "bold")
    sheet.text("Form WS-7, page 2", 13)
    sheet.rule(24)
    sheet.table(
        ["#", "Action", "Owner", "Due"],
        [
            ["1", "Replace racking load labels, aisle 14", "J. Patel", "21 Oct"],
            ["2", "Restock first aid box, dock 3", "M. Silva", "16 Oct"],
            ["3", "Re-train night shift on spill kits", "R. Okafor", "31 Oct"],
            ["4", "Repaint dock edge markings, bay 6", "Facilities", "15 Nov"],
        ],
        [50, 390, 150, 90],
    )
    sheet.paragraph(
        "Overall rating: SATISFACTORY with two minor findings. Next routine inspection due January 2025. "
        "Copies to the site manager and the regional operations director."
    )
    sheet.y += 40
    sheet.signature(47, "Inspector: R. Okafor")
    sheet.y += 20
    sheet.signature(53, "Site manager: A. Lindqvist")
    sheet.stamp("INSPECTED", (WIDTH - 200, HEIGHT - 260))


def invoice(sheet: Sheet) -> None:
    sheet.text("INVOICE", 34, "bold")
    sheet.text("Invoice no. 2024-0871  ·  Date 28 November 2024  ·  Due 28 December 2024", 14)
    sheet.rule(22)
    sheet.text("From: Baltic Textile Mills AB, Hamngatan 9, Gothenburg, Sweden", 14)
    sheet.text("Bill to: Northwind Outfitters plc, Accounts payable, 2 Mill Lane, Leeds", 14)
    sheet.y += 20
    sheet.table(
        ["Item", "Qty", "Unit price", "Amount"],
        [
            ["Merino wool fabric, 240 gsm (m)", "1,200", "EUR 14.50", "EUR 17,400.00"],
            ["Recycled polyester lining (m)", "2,500", "EUR 3.20", "EUR 8,000.00"],
            ["YKK zips, 60 cm", "4,000", "EUR 0.85", "EUR 3,400.00"],
            ["Freight, Gothenburg to Leeds", "1", "EUR 1,150.00", "EUR 1,150.00"],
        ],
        [330, 80, 130, 150],
    )
    for label, value in (
        ("Subtotal", "EUR 29,950.00"),
        ("VAT 0% (intra-community)", "EUR 0.00"),
        ("TOTAL DUE", "EUR 29,950.00"),
    ):
        sheet.text(f"{label:<28}{value}", 16, "bold" if label == "TOTAL DUE" else "regular", x=WIDTH - 470)
    sheet.y += 30
    sheet.paragraph("Payment by bank transfer to IBAN SE45 5000 0000 0583 9825 7466, reference 2024-0871.")
    sheet.stamp("PAID", (WIDTH - 180, HEIGHT - 200))
