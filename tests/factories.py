"""Factories for models the project does not own (Django's users)."""

import factory
from django.contrib.auth import get_user_model

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """An active, non-staff user whose password is ``DEFAULT_PASSWORD``."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_active = True
    is_staff = False
    password = factory.django.Password(DEFAULT_PASSWORD)


class AdminFactory(UserFactory):
    """A staff user: the contract's ``admin`` role."""

    username = factory.Sequence(lambda n: f"admin{n}")
    is_staff = True
    is_superuser = True
