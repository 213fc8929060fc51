"""The debtor's category comes in through the CSV and the API (`debtor_type`): business by
default, consumer or public; anything else is refused with its line or field, nothing written."""
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer

HEADER = ("customer_ref,customer_name,email,language,invoice_number,issue_date,due_date,amount,"
          "debtor_type\n")
AUTH = {"Authorization": "Bearer test-api-token"}


def write(tmp_path, text):
    path = tmp_path / "invoices.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def types():
    return dict(db.session.execute(select(Customer.ref, Customer.debtor_type)).all())


def test_the_csv_sets_each_debtors_category_and_an_empty_cell_keeps_it(runner, tmp_path):
    first = HEADER + ("C1,Mairie de Bron,compta@bron.fr,fr,F-1,2026-01-05,2026-02-04,100.00,public\n"
                      "C2,Claire Dubois,claire@example.org,fr,F-2,2026-01-05,2026-02-04,80.00,"
                      "Consumer\n"
                      "C3,Garage Lefèvre,garage@example.org,fr,F-3,2026-01-05,2026-02-04,50.00,\n")
    result = runner.invoke(args=["invoices", "import", write(tmp_path, first)])
    assert result.exit_code == 0, result.output
    assert types() == {"C1": "public", "C2": "consumer", "C3": "business"}
    again = first.replace("2026-02-04,100.00,public", "2026-02-04,100.00,")
    assert runner.invoke(args=["invoices", "import", write(tmp_path, again)]).exit_code == 0
    assert types()["C1"] == "public"  # left empty: the category set before stays


def test_an_unknown_category_is_refused_with_its_line(runner, tmp_path):
    bad = HEADER + ("C1,Mairie de Bron,compta@bron.fr,fr,F-1,2026-01-05,2026-02-04,100.00,public\n"
                    "C2,Claire Dubois,claire@example.org,fr,F-2,2026-01-05,2026-02-04,80.00,"
                    "particulier\n")
    result = runner.invoke(args=["invoices", "import", write(tmp_path, bad)])
    assert result.exit_code == 1
    assert "line 3: debtor_type: debtor_type 'particulier' is unknown: use business, consumer " \
           "or public" in result.output
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_the_api_takes_the_category_and_refuses_an_unknown_one(client):
    invoice = {"customer_ref": "C9", "customer_name": "Lycée Ampère", "email": "intendance@ampere.fr",
               "invoice_number": "F-9", "issue_date": "2026-01-01", "due_date": "2026-01-31",
               "amount": "1234.56", "debtor_type": "public"}
    assert client.post("/api/v1/invoices", json=invoice, headers=AUTH).status_code == 201
    assert types() == {"C9": "public"}
    refused = client.post("/api/v1/invoices", json=dict(invoice, invoice_number="F-10",
                                                        debtor_type="state"), headers=AUTH)
    assert refused.status_code == 422
    assert "is unknown: use business, consumer or public" in \
        refused.json["error"]["fields"]["0.debtor_type"]
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1
