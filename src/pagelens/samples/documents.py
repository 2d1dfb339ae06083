"""The sample PDFs (reportlab platypus, one page per `PageBreak`) and the two image files."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from pagelens.samples import charts, scans
from pagelens.samples.fonts import pdf_font, register_pdf_fonts

CREATOR = "pagelens samples"
TEXT_WIDTH = 170  # mm on A4 with 20 mm margins


def _styles() -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    family = register_pdf_fonts()
    body = ParagraphStyle("body", fontName=pdf_font(), fontSize=10, leading=14, spaceAfter=6)
    return {
        "family": family,
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11),
        "caption": ParagraphStyle("caption", parent=body, fontName=pdf_font("italic"), fontSize=9),
        "title": ParagraphStyle(
            "title", parent=body, fontName=pdf_font("bold"), fontSize=22, leading=28, spaceAfter=12
        ),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=13, leading=18, spaceAfter=14),
        "h1": ParagraphStyle(
            "h1", parent=body, fontName=pdf_font("bold"), fontSize=15, leading=20, spaceBefore=6, spaceAfter=8
        ),
        "h2": ParagraphStyle("h2", parent=body, fontName=pdf_font("bold"), fontSize=11.5, leading=16),
        "centre": ParagraphStyle("centre", parent=body, alignment=TA_CENTER),
    }


def _table(rows: list[list[str]], widths: list[float], highlight_last: bool = False) -> Any:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=[w * mm for w in widths], hAlign="LEFT")
    style = [
        ("FONTNAME", (0, 0), (-1, -1), pdf_font()),
        ("FONTNAME", (0, 0), (-1, 0), pdf_font("bold")),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f4e79")),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#eef3f8")]),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa9b8")),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if highlight_last:
        style.append(("FONTNAME", (0, -1), (-1, -1), pdf_font("bold")))
    table.setStyle(TableStyle(style))
    return table


def _picture(png: bytes, width_mm: float) -> Any:
    from reportlab.lib.units import mm
    from reportlab.platypus import Image as Flowable

    with Image.open(io.BytesIO(png)) as image:
        ratio = image.height / image.width
    return Flowable(io.BytesIO(png), width=width_mm * mm, height=width_mm * ratio * mm)


def _scan_flowable(image: Image.Image) -> Any:
    """A whole page that is only a raster image (what a scanner makes), as a JPEG inside the PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Image as Flowable

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    buffer.seek(0)
    return Flowable(buffer, width=A4[0], height=A4[1])


def _build(path: Path, title: str, author: str, subject: str, pages: list[list[Any]]) -> Path:
    """One PDF, each list of flowables on a page of its own (a page may be a full-bleed scan)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import BaseDocTemplate, Frame, NextPageTemplate, PageBreak, PageTemplate

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(pdf_font(), 8)
        canvas.setFillGray(0.4)
        canvas.drawString(20 * mm, 10 * mm, title)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"page {document.page}")
        canvas.restoreState()

    document = BaseDocTemplate(
        str(path),
        pagesize=A4,
        title=title,
        author=author,
        subject=subject,
        creator=CREATOR,
        producer=CREATOR,
        invariant=1,  # fixed creation date and document id: the same bytes on every run
    )
    text = Frame(20 * mm, 18 * mm, A4[0] - 40 * mm, A4[1] - 38 * mm, id="text")
    full = Frame(0, 0, A4[0], A4[1], leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    templates = [PageTemplate("text", [text], onPage=footer), PageTemplate("scan", [full])]
    if _is_scan(pages[0]):
        templates.reverse()  # the first template is the first page's
    document.addPageTemplates(templates)
    story: list[Any] = []
    for number, flowables in enumerate(pages):
        is_scan = _is_scan(flowables)
        story.append(NextPageTemplate("scan" if is_scan else "text"))
        if number:
            story.append(PageBreak())
        story.extend(_scan_flowable(flowables[0].image) if is_scan else f for f in flowables)
    document.build(story)
    return path


def _is_scan(flowables: list[Any]) -> bool:
    return len(flowables) == 1 and isinstance(flowables[0], ScanPage)


class ScanPage:
    """Marks a page made of one scanned image."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image


def _p(style: str) -> Callable[[str], Any]:
    from reportlab.platypus import Paragraph

    styles = _styles()
    return lambda text: Paragraph(text, styles[style])


def annual_report(path: Path) -> Path:
    from reportlab.platypus import Spacer

    body, h1, title, sub, cap = _p("body"), _p("h1"), _p("title"), _p("subtitle"), _p("caption")
    pages = [
        [
            Spacer(1, 60),
            title("Northwind Outfitters plc"),
            sub("Annual Report and Accounts 2024"),
            Spacer(1, 20),
            h1("Letter to shareholders"),
            body(
                "2024 was the strongest year in Northwind's history. Revenue grew 13% to USD 210.9 million, "
                "led by online sales of outdoor gear and a record fourth quarter. Gross margin widened by "
                "1.8 points as we moved more production to recycled fabrics and renegotiated freight."
            ),
            body(
                "We opened eleven stores, nine of them in Asia Pacific, and a second distribution centre in "
                "Leeds. Free cash flow of USD 24.1 million funds a higher dividend and the buy-back we "
                "announce in this report."
            ),
            h1("Highlights"),
            body(
                "&bull; Revenue USD 210.9 million, up 13.0% &nbsp; &bull; Operating income USD 27.4 million"
            ),
            body("&bull; Online share of sales 38% (2023: 31%) &nbsp; &bull; Dividend per share up 15%"),
            Spacer(1, 30),
            body("Chair: Margaret Osei &nbsp;&nbsp; Chief executive: Daniel Brandt"),
        ],
        [
            h1("Financial highlights"),
            body("Consolidated results for the years ended 31 December (USD million unless stated)."),
            _table(
                [
                    ["", "FY2023", "FY2024", "change"],
                    ["Revenue", "188.4", "210.9", "+11.9%"],
                    ["Gross profit", "92.3", "107.1", "+16.0%"],
                    ["Gross margin", "49.0%", "50.8%", "+1.8 pt"],
                    ["Operating income", "21.0", "27.4", "+30.5%"],
                    ["Net income", "15.2", "19.9", "+30.9%"],
                    ["Earnings per share (USD)", "0.61", "0.80", "+31.1%"],
                    ["Free cash flow", "17.6", "24.1", "+36.9%"],
                    ["Net cash at year end", "31.5", "42.8", "+35.9%"],
                    ["Employees at year end", "2,140", "2,395", "+11.9%"],
                ],
                [70, 30, 30, 30],
            ),
            body(
                "Operating income rose faster than revenue because marketing spend was flat and the new "
                "warehouse system cut fulfilment cost per order by 9%. The balance sheet carries no debt."
            ),
        ],
        [
            h1("Quarterly revenue"),
            _picture(charts.quarterly_revenue(), 160),
            cap("Figure 1: quarterly revenue chart, FY2023 and FY2024 (USD million)."),
            body(
                "Every quarter grew on the year before. The fourth quarter, with Black Friday and the winter "
                "collection, was the largest at USD 62.4 million, up 12.8%. Online orders were 44% of "
                "fourth-quarter revenue."
            ),
        ],
        [
            h1("Revenue by region"),
            _table(
                [
                    ["Region", "FY2023", "FY2024", "growth", "stores"],
                    ["North America", "89.9", "97.0", "+7.9%", "64"],
                    ["Europe", "56.1", "61.2", "+9.1%", "41"],
                    ["Asia Pacific", "28.6", "38.0", "+32.9%", "23"],
                    ["Latin America", "13.8", "14.7", "+6.5%", "8"],
                    ["Total", "188.4", "210.9", "+11.9%", "136"],
                ],
                [50, 28, 28, 28, 22],
                highlight_last=True,
            ),
            _picture(charts.revenue_by_region(), 120),
            cap("Figure 2: share of FY2024 revenue by region."),
            body("Asia Pacific is now 18% of revenue, from 15%, after nine store openings in the year."),
        ],
        [ScanPage(scans.scanned(scans.auditor_letter, seed=5, angle=1.2))],
        [
            h1("Outlook for 2025"),
            body(
                "We expect revenue growth of 8-10% at constant currency, an operating margin of about 13.5% "
                "and capital expenditure of USD 14 million, most of it for stores and the Leeds automation."
            ),
            _table(
                [
                    ["Guidance", "FY2024 actual", "FY2025 guidance"],
                    ["Revenue growth", "11.9%", "8-10%"],
                    ["Operating margin", "13.0%", "about 13.5%"],
                    ["Capital expenditure", "USD 11.2m", "USD 14m"],
                    ["New stores", "11", "8-10"],
                ],
                [60, 40, 40],
            ),
            h1("Risks"),
            body(
                "Currency moves against the US dollar, freight rates, a warm winter in Europe, and the "
                "pace of online growth. Our risk register and mitigations are on pages 40-44 of the full "
                "report."
            ),
        ],
    ]
    return _build(
        path, "Northwind Outfitters Annual Report 2024", "Northwind Outfitters plc", "finance", pages
    )


def retrieval_paper(path: Path) -> Path:
    body, h1, title, cap = _p("body"), _p("h1"), _p("title"), _p("caption")
    small, centre = _p("small"), _p("centre")
    pages = [
        [
            title("Late Interaction over Page Images for Visual Document Retrieval"),
            centre(
                "Ana Ruiz, Tomasz Nowak, Priya Raman &nbsp;&middot;&nbsp; Institute for Information Access"
            ),
            h1("Abstract"),
            body(
                "Documents are more than their text: tables, charts and layout carry much of their meaning. "
                "We embed each page image with a vision-language model into one vector per patch and score "
                "a query against a page by late interaction (MaxSim). Without OCR, the method improves "
                "nDCG@5 by 9.4 points over a text pipeline on five benchmarks, and multi-head attention "
                "pooling keeps the index small."
            ),
            h1("1 Introduction"),
            body(
                "Retrieval-augmented generation depends on finding the right page. Text extraction loses "
                "the structure of tables and the content of figures, and scanned pages need OCR that fails "
                "on noise and rotation. We ask whether a page image can be searched directly."
            ),
            body(
                "Our contributions: (1) a late-interaction retriever over page patches; (2) an analysis of "
                "attention heads and patch pooling; (3) a benchmark of scanned and born-digital pages."
            ),
        ],
        [
            h1("2 Related work"),
            body(
                "ColBERT introduced late interaction for text passages: every token keeps its own vector and "
                "relevance is the sum, over query tokens, of the best match among document tokens. The "
                "Transformer's multi-head attention made such contextual token vectors cheap to compute."
            ),
            body(
                "Vision-language models such as PaliGemma and Qwen2-VL read images as sequences of patches. "
                "ColPali combined both ideas. We extend the analysis to scanned pages and to pooling."
            ),
            h1("3 Scoring"),
            body("For query vectors q<sub>1..n</sub> and page vectors d<sub>1..m</sub> the score is"),
            centre(
                "MaxSim(q, d) = &Sigma;<sub>i=1..n</sub> max<sub>j=1..m</sub> q<sub>i</sub> &middot; d<sub>j</sub>"
            ),
            body(
                "Vectors are 128-dimensional and L2-normalised. A page of 1,030 patches costs 258 KB in "
                "float16; candidate pages are chosen from per-page centroids and then scored exactly."
            ),
        ],
        [
            h1("4 Method"),
            _picture(charts.architecture_diagram(), 160),
            cap("Figure 1: the page encoder and the query encoder share one projection to 128 dimensions."),
            body(
                "Pages are rendered at 448 pixels on the long side, cut into 14-pixel patches and encoded. "
                "Queries pass through the language model with an instruction prefix. Training uses in-batch "
                "negatives and a softplus contrastive loss for 5,000 steps."
            ),
        ],
        [
            h1("5 Experiments"),
            body("Table 1 compares retrievers by nDCG@5 on five visual document benchmarks."),
            _table(
                [
                    ["Model", "DocVQA", "InfoVQA", "TabFQuAD", "ArxivQA", "Scans", "avg"],
                    ["BM25 on OCR text", "36.8", "62.9", "46.5", "31.6", "22.4", "40.0"],
                    ["Dense text (BGE)", "42.5", "68.2", "51.1", "38.0", "25.9", "45.1"],
                    ["SigLIP single vector", "30.3", "64.1", "58.1", "43.2", "31.7", "45.5"],
                    ["Ours, 8 heads", "53.9", "81.2", "83.6", "78.4", "62.1", "71.8"],
                    ["Ours, 16 heads", "54.4", "81.9", "84.0", "79.1", "63.0", "72.5"],
                ],
                [46, 19, 19, 21, 19, 17, 15],
            ),
            cap("Table 1: retrieval performance (nDCG@5, higher is better)."),
            body(
                "Late interaction wins on every benchmark; the gap is largest on tables (TabFQuAD) and on "
                "scanned pages, where OCR errors hurt the text pipelines most."
            ),
        ],
        [
            h1("5.1 Translation as a sanity check"),
            body(
                "The text encoder is also fine-tuned for translation to check that it keeps its language "
                "ability. Table 2 reports BLEU scores on the WMT 2014 test sets."
            ),
            _table(
                [
                    ["Model", "EN-DE BLEU", "EN-FR BLEU", "training cost (GPU days)"],
                    ["Transformer base", "27.3", "38.1", "0.5"],
                    ["Transformer big", "28.4", "41.8", "3.5"],
                    ["Our encoder + decoder", "28.1", "41.2", "1.2"],
                ],
                [60, 30, 30, 45],
            ),
            cap("Table 2: BLEU scores for English-German and English-French translation."),
            body("The encoder loses less than half a BLEU point, so retrieval training does not erase it."),
        ],
        [
            h1("6 What the attention heads look at"),
            _picture(charts.attention_heatmap(), 160),
            cap("Figure 2: attention of each query token over page patches for one head."),
            body(
                "Head 3 attends from the token 'revenue' to the patches of a table header and from 'table' "
                "to the grid lines. Other heads follow reading order or attend to titles."
            ),
        ],
        [
            h1("7 Ablations"),
            _picture(charts.training_curves(), 150),
            cap("Figure 3: training loss curves for 4, 8 and 16 attention heads."),
            _table(
                [
                    ["Variant", "nDCG@5", "index size / page", "query latency"],
                    ["all 1,030 patch vectors", "71.8", "258 KB", "41 ms"],
                    ["pooled to 256 vectors", "70.9", "64 KB", "14 ms"],
                    ["pooled to 64 vectors", "67.2", "16 KB", "6 ms"],
                    ["no instruction prefix", "68.5", "258 KB", "41 ms"],
                ],
                [55, 25, 40, 30],
            ),
            cap("Table 3: ablations of pooling and of the query prefix."),
        ],
        [
            h1("8 Conclusion"),
            body(
                "Searching page images by late interaction beats OCR-based pipelines on charts, tables and "
                "scans, and pooling patch vectors fourfold costs about one point of nDCG@5."
            ),
            h1("References"),
            small(
                "[1] O. Khattab and M. Zaharia. ColBERT: efficient and effective passage search via contextualized late interaction over BERT. SIGIR 2020."
            ),
            small("[2] A. Vaswani et al. Attention is all you need. NeurIPS 2017."),
            small(
                "[3] M. Faysse et al. ColPali: efficient document retrieval with vision language models. ICLR 2025."
            ),
            small("[4] L. Beyer et al. PaliGemma: a versatile 3B VLM for transfer. 2024."),
            small(
                "[5] P. Wang et al. Qwen2-VL: enhancing vision-language model's perception of the world at any resolution. 2024."
            ),
        ],
    ]
    return _build(
        path, "Late Interaction over Page Images", "A. Ruiz, T. Nowak, P. Raman", "retrieval", pages
    )


def climate_brief(path: Path) -> Path:
    body, h1, title, sub, cap = _p("body"), _p("h1"), _p("title"), _p("subtitle"), _p("caption")
    pages = [
        [
            title("Regional Energy and Climate Brief 2024"),
            sub("Northern Regions Energy Observatory &middot; policy brief no. 12"),
            h1("Summary"),
            body(
                "The region's mean temperature in 2024 was 1.4 &deg;C above the 1951-1980 average, the "
                "warmest year on record. Greenhouse gas emissions fell 4.2% as coal generation dropped to "
                "14% of electricity and wind and solar reached 46% together."
            ),
            body(
                "Transport is now the largest emitting sector. Heat pumps in buildings grew by 38%, but "
                "road freight emissions were flat. This brief sets out the figures and five recommendations."
            ),
            h1("Key figures"),
            body("&bull; Temperature anomaly: +1.4 &deg;C &nbsp; &bull; Emissions: 48.6 Mt CO2e (-4.2%)"),
            body("&bull; Renewable electricity: 58% incl. hydro &nbsp; &bull; Heat pumps installed: 61,000"),
        ],
        [
            h1("Temperature"),
            _picture(charts.temperature_anomaly(), 160),
            cap("Figure 1: annual temperature anomaly and its 10-year average."),
            body(
                "Warming has accelerated since 1990. Nine of the ten warmest years since 1960 were after "
                "2010, and the number of summer days above 30 &deg;C has tripled."
            ),
        ],
        [
            h1("Emissions and the electricity mix"),
            _table(
                [
                    ["Sector", "2015 (Mt CO2e)", "2024 (Mt CO2e)", "change"],
                    ["Electricity and heat", "19.8", "10.9", "-45%"],
                    ["Transport", "14.1", "14.3", "+1%"],
                    ["Industry", "11.2", "9.6", "-14%"],
                    ["Buildings", "8.9", "7.1", "-20%"],
                    ["Agriculture", "6.8", "6.7", "-1%"],
                    ["Total", "60.8", "48.6", "-20%"],
                ],
                [55, 35, 35, 25],
                highlight_last=True,
            ),
            _picture(charts.electricity_mix(), 150),
            cap("Figure 2: electricity generation by source, share of total."),
        ],
        [
            h1("Recommendations"),
            body("1. Extend the freight electrification grant to vans and regional lorries."),
            body("2. Double grid storage by 2028 to absorb solar peaks in summer afternoons."),
            body("3. Require heat-pump-ready heating in every building permit from 2026."),
            body("4. Publish emissions by municipality every quarter, not every year."),
            body("5. Fund heat adaptation for hospitals and care homes in the three warmest districts."),
            h1("Method"),
            body(
                "Temperatures are station means homogenised by the national weather service. Emissions "
                "follow the IPCC 2006 guidelines; 2024 figures are provisional."
            ),
        ],
    ]
    return _build(
        path,
        "Regional Energy and Climate Brief 2024",
        "Northern Regions Energy Observatory",
        "climate",
        pages,
    )


def inspection_scan(path: Path) -> Path:
    pages = [
        [ScanPage(scans.scanned(scans.inspection_form, seed=21, angle=-1.6))],
        [ScanPage(scans.scanned(scans.inspection_actions, seed=22, angle=0.9))],
    ]
    return _build(path, "Warehouse safety inspection (scan)", "Leeds DC", "operations", pages)


def invoice_scan(path: Path) -> Path:
    image = scans.scanned(scans.invoice, seed=87, angle=-2.3)
    image.save(path, format="JPEG", quality=78, optimize=False)
    return path


def sales_chart(path: Path) -> Path:
    path.write_bytes(charts.monthly_sales())
    return path


WRITERS: dict[str, Callable[[Path], Path]] = {
    "annual_report.pdf": annual_report,
    "retrieval_paper.pdf": retrieval_paper,
    "climate_brief.pdf": climate_brief,
    "inspection_scan.pdf": inspection_scan,
    "invoice_scan.jpg": invoice_scan,
    "sales_chart.png": sales_chart,
}


def write_all(folder: Path) -> list[Path]:
    return [write(folder / name) for name, write in WRITERS.items()]
