"""A debtor's personal data (RGPD): the export of everything Relance holds about one debtor
(right of access, art. 15) and their erasure once nothing is owed (right to erasure, art. 17;
end of the retention period the creditor sets in `[privacy] retention_months`).

- `rules`: whether a debtor's data may be erased on a date, and if not, why (plain facts).
- `export`: one ZIP for a debtor (identity, invoices, payments, messages as sent, timeline,
  notes and their files), built from the hand-over dossier's pieces (`portal.handover.dossier`).
- `erase`: names, addresses, e-mails, phones, SIREN and free texts replaced; amounts, dates and
  invoice numbers kept for the books (Code de commerce L123-22); links revoked; one event.

Core layer: plain functions with explicit inputs (`as_of`, `by`); they flush, never commit."""
from .erase import ERASED, ErasureRefused, due, erase
from .export import export_name, export_zip
from .rules import Verdict, erasable_from, last_settled_on, verdict

__all__ = ["ERASED", "ErasureRefused", "Verdict", "due", "erasable_from", "erase",
           "export_name", "export_zip", "last_settled_on", "verdict"]
