"""Back-office users: hashed passwords (werkzeug's scrypt), their grants (a creditor and a role
there), and the login rate limit."""
from datetime import timedelta
from functools import cache

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import Creditor, CreditorGrant, LoginAttempt, User, utcnow

ROLES = ("accountant", "admin")
WINDOW = timedelta(minutes=15)
# Failed logins allowed within WINDOW: for one account from one address, from one address over
# all accounts, and for one account from all addresses. Nobody can lock the whole office out
# (behind a proxy, set PROXY_HOPS so that each person's own address counts), and guessing one
# password from many addresses stays slow.
MAX_FAILURES = 5
MAX_PER_ADDRESS = 20
MAX_PER_ACCOUNT = 50
MIN_PASSWORD = 12


class UserError(ValueError):
    """The user cannot be created or logged in; the message says why."""


def create_user(email, password, role="accountant", creditors=None):
    """A new account granted `creditors` (Creditor rows; default: the first creditor) with
    `role` on each."""
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(User).where(User.email == email)):
        raise UserError(f"{email} already has an account")
    user = User(email=email, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    if creditors is None:
        from .settings import ensure_creditor
        creditors = [ensure_creditor()]
    for creditor in creditors:
        grant(user, creditor, role)
    return user


def grant(user, creditor, role="accountant"):
    """Give `user` access to `creditor` with `role` (changing the role if already granted)."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    row = next((g for g in user.grants if g.creditor_id == creditor.id), None)
    if row is None:
        row = CreditorGrant(creditor_id=creditor.id, role=role)
        user.grants.append(row)
    row.role = role
    db.session.flush()
    return row


def granted(user):
    """{creditor id: role} of the creditors `user` may work for."""
    return {g.creditor_id: g.role for g in user.grants}


def granted_creditors(user):
    """The Creditor rows `user` may work for, by name."""
    ids = list(granted(user))
    if not ids:
        return []
    return db.session.scalars(select(Creditor).where(Creditor.id.in_(ids))
                              .order_by(Creditor.name, Creditor.id)).all()


def start_attempt(email, ip):
    """Record a login attempt as failed until the password proves otherwise. The caller commits
    it before counting (`too_many_failures`), so attempts made at once cannot all slip under
    the limit: the k-th to commit counts at least k."""
    attempt = LoginAttempt(email=(email or "").strip().lower()[:320], ip=(ip or "")[:64],
                           ok=False)
    db.session.add(attempt)
    return attempt


def too_many_failures(email, ip):
    """Whether this attempt (already recorded) is over one of the limits."""
    email = (email or "").strip().lower()
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.ok.is_(False), LoginAttempt.at >= utcnow() - WINDOW)
    return (db.session.scalar(failures.where(LoginAttempt.email == email,
                                             LoginAttempt.ip == ip)) > MAX_FAILURES
            or db.session.scalar(failures.where(LoginAttempt.ip == ip)) > MAX_PER_ADDRESS
            or db.session.scalar(failures.where(LoginAttempt.email == email)) > MAX_PER_ACCOUNT)


def find_user(email):
    return db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))


@cache
def _decoy_hash():
    return generate_password_hash("not a password of anyone")


def authenticate(email, password, attempt):
    """The user for these credentials, or None. The password hash is checked even for an
    unknown e-mail, so the answer's time does not tell which addresses have an account."""
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    ok = check_password_hash(user.password_hash if user else _decoy_hash(), password or "")
    ok = ok and user is not None and user.active
    attempt.ok = ok
    return user if ok else None


def end_sessions(user):
    """Every session of `user` stops working (logout, new password, deactivation)."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_version=User.session_version + 1))
    db.session.refresh(user)


def set_password(user, password):
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def deactivate(user):
    user.active = False
    end_sessions(user)


def user_for_session(session_id):
    """The active user a session cookie names, if its version is still current."""
    user_id, _, version = (session_id or "").partition(".")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()
            and len(user_id) <= 10 and len(version) <= 10):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
