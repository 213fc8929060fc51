"""Invoice copies: the stored PDF when the accounting tool sent one, else a copy generated from
the ledger (clearly titled as a copy), with fpdf2; the creditor's logo, checked once with
Pillow when it is set, drawn at the top of its documents."""
import io

from fpdf import FPDF
from PIL import Image, UnidentifiedImageError

from .i18n import day, money

# The PDF core fonts cover Latin-1; map the few common characters outside it.
_PDF_MAP = str.maketrans({"€": "EUR", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                          "œ": "oe", "Œ": "OE", "\u202f": " ", "\u00a0": " ", "…": "..."})


def pdf_text(text):
    return str(text).translate(_PDF_MAP).encode("latin-1", "replace").decode("latin-1")


LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 2000


def read_logo(path):
    """(bytes, media type) of a logo file; ValueError saying what is wrong with it."""
    with open(path, "rb") as f:
        data = f.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        raise ValueError(f"the file is over {MAX_LOGO_BYTES // 1024} KB; make it smaller")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind, size = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValueError("not a PNG or JPEG image Relance can read") from None
    if kind not in LOGO_TYPES:
        raise ValueError(f"a {kind} image; give a PNG or a JPEG")
    if max(size) > MAX_LOGO_SIDE:
        raise ValueError(f"{size[0]}x{size[1]} pixels; at most {MAX_LOGO_SIDE} on a side")
    return data, LOGO_TYPES[kind]


def draw_brand(pdf, creditor, logo, height=14):
    """The creditor's colour as a thin band across the top of the page, and its logo ((bytes,
    media type), as `portal.settings.logo()` gives it, or None) at the top right."""
    colour = getattr(creditor, "colour", "") or ""
    if len(colour) == 7 and colour.startswith("#"):
        pdf.set_fill_color(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
        pdf.rect(0, 0, pdf.w, 3, style="F")
    if logo:
        pdf.image(io.BytesIO(logo[0]), x=pdf.w - pdf.r_margin - 50, y=pdf.t_margin, h=height,
                  keep_aspect_ratio=True, w=50)


def invoice_copy_pdf(invoice, creditor, language="fr", logo=None):
    """PDF bytes for `invoice`: its stored original, or a generated duplicate (with the
    creditor's logo, if given)."""
    if invoice.pdf:
        return invoice.pdf
    fr = language != "en"
    pdf = FPDF(format="A4")
    pdf.set_title(pdf_text(("Facture " if fr else "Invoice ") + invoice.number))
    pdf.set_creator("Relance")
    pdf.add_page()
    draw_brand(pdf, creditor, logo)
    pdf.set_font("Helvetica", size=10)
    for line in (creditor.name, creditor.address, f"SIREN {creditor.siren}",
                 creditor.email):
        pdf.cell(0, 5, pdf_text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_x(110)
    customer = invoice.customer
    pdf.multi_cell(0, 5, pdf_text(f"{customer.name}\n{customer.address or ''}"))
    pdf.ln(6)
    pdf.set_font("Helvetica", style="B", size=14)
    title = (f"Facture {invoice.number} (duplicata)" if fr
             else f"Invoice {invoice.number} (copy)")
    pdf.cell(0, 10, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    rows = [
        ("Date d'émission" if fr else "Issue date", day(invoice.issue_date, language)),
        ("Échéance" if fr else "Due date", day(invoice.due_date, language)),
        ("Montant TTC" if fr else "Total", money(invoice.total_cents, language, invoice.currency)),
        ("Déjà réglé" if fr else "Paid", money(invoice.paid_cents, language, invoice.currency)),
        ("Reste dû" if fr else "Balance due",
         money(invoice.balance_cents, language, invoice.currency)),
    ]
    for label, value in rows:
        pdf.cell(60, 7, pdf_text(label), border=1)
        pdf.cell(60, 7, pdf_text(value), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.multi_cell(0, 5, pdf_text(
        (f"Règlement par virement : IBAN {creditor.iban} - BIC {creditor.bic}, référence "
         f"{invoice.number}.\nCe duplicata est établi à partir de notre comptabilité." if fr else
         f"Pay by bank transfer: IBAN {creditor.iban} - BIC {creditor.bic}, reference "
         f"{invoice.number}.\nThis copy was produced from our ledger.")))
    return bytes(pdf.output())
