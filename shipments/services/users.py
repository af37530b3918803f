"""Web users: authentication."""
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from shipments.models import User

# Compared against when the user is unknown, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not-a-password")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def get_active_user(session: Session, user_id: str) -> User | None:
    """Load a logged-in user by id, if still active."""
    if not str(user_id).isdigit():
        return None
    user = session.get(User, int(user_id))
    return user if user is not None and user.active else None


def set_locale(user: User, locale: str) -> None:
    """Remember a user's language for their next visit, on any device."""
    user.locale = locale
