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


INT4_MAX = 2_147_483_647


def get_active_user(session: Session, session_id: str) -> User | None:
    """Load a logged-in user by the session's "id.version", if still active and the version is current."""
    user_id, _, version = str(session_id).partition(".")
    if not (user_id.isdigit() and version.isdigit() and len(user_id) <= 10 and len(version) <= 10):
        return None
    if not 0 < int(user_id) <= INT4_MAX:
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session of a user (logout, password change): their session ids no longer match."""
    user.session_version = (user.session_version or 0) + 1


def change_password(user: User, password: str) -> None:
    """Set a new password and end the user's other sessions."""
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def set_locale(user: User, locale: str) -> None:
    """Remember a user's language for their next visit, on any device."""
    user.locale = locale
