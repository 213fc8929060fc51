"""Importing invoices from the back office: a file with an error is refused whole with its
line, a good one is shown (to create, to update) and written only on confirmation, with the
same counts; a re-upload changes nothing; the file goes to the creditor worked on."""
import html
import io
import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Invoice
from portal.users import create_user
from tests.helpers import PASSWORD, csrf, login

HEADER = "customer_ref;customer_name;email;language;invoice_number;issue_date;due_date;amount\n"
GOOD = HEADER + ("C1;Dupont & Fils;c@dupont.fr;fr;F-1;01/10/2026;31/10/2026;1 234,56\n"
                 "C2;Garage Roux;compta@roux.fr;fr;F-2;2026-10-05;2026-11-04;99.90\n")
BAD = GOOD + "C3;Fleurs Gauthier;pas-un-email;fr;F-3;2026-10-05;2026-13-04;12\n"


def _upload(client, text, name="factures.csv"):
    page = client.get("/admin/import").get_data(as_text=True)
    return client.post("/admin/import", data={
        "csrf_token": csrf(page), "file": (io.BytesIO(text.encode("utf-8")), name)},
        content_type="multipart/form-data")


def _count():
    return db.session.scalar(select(func.count(Invoice.id)))


def test_check_then_confirm_all_or_nothing(any_app):
    create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    login(client)
    refused = _upload(client, BAD)
    text = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "nothing was imported" not in text
    assert "factures.csv : 1 erreur ; rien n'a été importé" in text
    assert "ligne 4" in text and "due_date" in text and "'2026-13-04' is not a date" in text
    assert _count() == 0
    checked = _upload(client, GOOD)
    text = html.unescape(checked.get_data(as_text=True))
    assert checked.status_code == 200
    assert "2 facture(s) à créer" in text and "Rien n'est encore écrit." in text
    assert _count() == 0  # the check wrote nothing
    content = re.search(r'name="content" value="([^"]+)"', text).group(1)
    done = client.post("/admin/import/confirm", data={
        "csrf_token": csrf(text), "content": content, "filename": "factures.csv",
        "for_creditor": "1"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/invoices"
    assert _count() == 2
    flash = html.unescape(client.get("/admin/invoices").get_data(as_text=True))
    assert "factures.csv importé : 2 facture(s) créée(s), 0 mise(s) à jour, 0 inchangée(s)" \
        in flash
    again = html.unescape(_upload(client, GOOD).get_data(as_text=True))
    assert "0 facture(s) à créer" in again and "2 facture(s) inchangée(s)" in again
    tampered = client.post("/admin/import/confirm", data={
        "csrf_token": csrf(text), "content": "not base64 !", "filename": "x.csv"})
    assert tampered.status_code == 302 and _count() == 2
