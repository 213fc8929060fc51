"""Ledger tables (DESIGN.md section 3), one module per concern. Money is integer cents; dates are
dates; times are aware UTC. Business rules live elsewhere: `portal.bookkeeping`, `portal.instalments`,
`portal.payments`, `reminders/`."""
from .base import Money, UTCDateTime, utcnow
from .books import BooksVersion
from .accounts import (PAID_CENTS, Allocation, Attachment, BankCredit, Customer,
                                    Event, Hold, Invoice, Payment, ProcessedEvent)
from .plans import Instalment, InstalmentPlan, plan_invoice
from .reminders import Reminder, SentMessage, Task
from .runs import RunAlert, RunLog
from .sms import ShortLink, SmsMessage
from .settings import ApiToken, Creditor, CreditorGrant, SettingsRevision
from .staff import LoginAttempt, User
from .work import WorkItem

__all__ = ["BooksVersion", "Money", "UTCDateTime", "utcnow", "PAID_CENTS", "Allocation", "Attachment",
           "BankCredit",
           "Customer", "Event",
           "Hold", "Invoice", "Payment", "ProcessedEvent", "Instalment", "InstalmentPlan",
           "plan_invoice", "Reminder", "RunAlert", "RunLog", "SentMessage", "Task", "ShortLink", "SmsMessage", "ApiToken", "Creditor", "CreditorGrant", "SettingsRevision",
           "LoginAttempt", "User", "WorkItem"]
