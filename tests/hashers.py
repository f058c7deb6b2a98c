"""A PBKDF2-SHA256 hasher with few iterations, so tests log in quickly."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Same algorithm as production, 1,000 iterations."""

    iterations = 1000
