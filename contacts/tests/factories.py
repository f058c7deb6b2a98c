"""Factories for the contacts app."""

import factory
from django.utils import timezone

from contacts.models import Contact


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact with a unique valid Kenyan mobile number and an email."""

    class Meta:
        model = Contact

    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+2547{n % 10**8:08d}")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")
