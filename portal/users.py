"""Back-office users: hashed passwords (werkzeug's scrypt), roles, and the login rate limit."""
from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import LoginAttempt, User, utcnow

ROLES = ("accountant", "admin")
MAX_FAILURES = 5  # per e-mail and per address...
WINDOW = timedelta(minutes=15)  # ...within this window
MIN_PASSWORD = 12


class UserError(ValueError):
    """The user cannot be created or logged in; the message says why."""


def create_user(email, password, role="accountant"):
    email = email.strip().lower()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(User).where(User.email == email)):
        raise UserError(f"{email} already has an account")
    user = User(email=email, password_hash=generate_password_hash(password), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def too_many_failures(email, ip):
    since = utcnow() - WINDOW
    failures = db.session.scalar(select(func.count(LoginAttempt.id)).where(
        LoginAttempt.ok.is_(False), LoginAttempt.at >= since,
        (LoginAttempt.email == email.strip().lower()) | (LoginAttempt.ip == ip)))
    return failures >= MAX_FAILURES


def authenticate(email, password, ip):
    """The user for these credentials, or None; every attempt is recorded."""
    email = (email or "").strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    ok = user is not None and user.active and check_password_hash(user.password_hash,
                                                                  password or "")
    db.session.add(LoginAttempt(email=email, ip=ip, ok=ok))
    return user if ok else None
