"""Bank statements (CAMT.053, made in the test): a credit naming its invoice is recorded, one
matched by amount and name too, an ambiguous one waits on the bank page where the accountant
assigns it, a replayed statement changes nothing, a debit or a pending entry is ignored, and a
file that is not a statement (or an XML bomb) is refused with the reason."""
import html
from datetime import timedelta

from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.models import BankCredit, Invoice, Payment
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, csrf, login

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def entry(ref, amount, booked, debtor="", ustrd="", indicator="CRDT", status="BOOK"):
    return f"""
      <Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>{indicator}</CdtDbtInd><Sts>{status}</Sts>
        <BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>{ref}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RltdPties><Dbtr><Nm>{debtor}</Nm></Dbtr></RltdPties>
          <RmtInf><Ustrd>{ustrd}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""


def statement(*entries):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS}"><BkToCstmrStmt>
  <GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-12-01T06:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>STMT-1-1</Id>{"".join(entries)}</Stmt>
</BkToCstmrStmt></Document>""".encode()


def test_match_by_number_by_amount_and_name_and_the_rest_waits(any_app, tmp_path):
    today = clock.today()
    booked = (today - timedelta(days=1)).isoformat()
    dupont = make_customer(name="Dupont & Fils")
    first = make_invoice(dupont, today - timedelta(days=40), 120_000, number="FA-2026-0101")
    second = make_invoice(dupont, today - timedelta(days=20), 30_000, number="FA-2026-0102")
    muller = make_customer(name="Boulangerie Müller")
    bread = make_invoice(muller, today - timedelta(days=15), 45_090, number="FA-2026-0201")
    roux = make_customer(name="Garage Roux")
    make_invoice(roux, today - timedelta(days=15), 45_090, number="FA-2026-0301")
    from portal.models import Task
    db.session.add(Task(customer_id=dupont.id, kind="call", level=3, due_on=today,
                        message_id="<seed-call>", details={"invoices": ["FA-2026-0101"]}))
    create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    path = tmp_path / "releve.xml"
    path.write_bytes(statement(
        entry("BQ-1", "1500.00", booked, "DUPONT ET FILS",
              "Reglement factures FA-2026-0101 FA-2026-0102"),
        entry("BQ-2", "450.90", booked, "BOULANGERIE MULLER", "VIREMENT"),
        entry("BQ-3", "450.90", booked, "M. INCONNU", "FACTURE"),
        entry("BQ-4", "99.00", booked, "", "", indicator="DBIT"),
        entry("BQ-5", "10.00", booked, "Garage Roux", "FA-2026-0301", status="PDNG")))
    runner = any_app.test_cli_runner()
    result = runner.invoke(args=["payments", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 credit(s): 2 matched and recorded, 0 already known, 1 waiting" in result.output
    assert "0.00 EUR beyond the invoices kept as credit" in result.output  # 1,500 for 1,500
    db.session.expire_all()
    assert [db.session.get(Invoice, i.id).status for i in (first, second, bread)] == [
        "paid", "paid", "paid"]
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.source == "bank")) == 2
    waiting = db.session.scalar(select(BankCredit))
    assert (waiting.external_id, waiting.amount_cents, waiting.state) == ("BQ-3", 45_090,
                                                                          "unmatched")
    # The same statement again: nothing new.
    again = runner.invoke(args=["payments", "import", str(path)])
    assert "0 matched and recorded, 3 already known, 0 waiting" in again.output
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.source == "bank")) == 2
    # The accountant sees it (inbox and bank page) and assigns it.
    client = any_app.test_client()
    login(client)
    inbox = html.unescape(client.get("/admin/").get_data(as_text=True))
    assert "Virement à rapprocher" in inbox
    assert "Appel à passer" not in inbox  # FA-2026-0101 was paid by the statement
    page = client.get("/admin/bank").get_data(as_text=True)
    assert "M. INCONNU" in page and "450,90" in html.unescape(page)
    wrong = client.post(f"/admin/bank/{waiting.id}", data={
        "csrf_token": csrf(page), "invoice_number": "NOPE", "decision": "assign"})
    assert wrong.status_code == 302 and db.session.get(BankCredit, waiting.id).state == \
        "unmatched"
    done = client.post(f"/admin/bank/{waiting.id}", data={
        "csrf_token": csrf(page), "invoice_number": "FA-2026-0301", "decision": "assign"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(BankCredit, waiting.id).state == "assigned"
    assert db.session.scalar(select(Invoice.status).where(Invoice.number == "FA-2026-0301")) \
        == "paid"
    assert "Rien à rapprocher" in html.unescape(client.get("/admin/bank").get_data(as_text=True))


def test_what_is_not_a_statement_is_refused_with_the_reason(any_app, tmp_path):
    runner = any_app.test_cli_runner()
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>')
    result = runner.invoke(args=["payments", "import", str(bomb)])
    assert result.exit_code == 1 and "refused" in result.output
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><Document><Foo/></Document>')
    result = runner.invoke(args=["payments", "import", str(other)])
    assert result.exit_code == 1 and "not a CAMT.053 bank statement" in result.output
    broken = tmp_path / "broken.xml"
    broken.write_bytes(statement(entry("BQ-9", "12,50", "2026-11-30", "X", "Y")))
    result = runner.invoke(args=["payments", "import", str(broken)])
    assert result.exit_code == 1 and "'12,50' is not an amount" in result.output
    assert db.session.scalar(select(func.count(BankCredit.id))) == 0
