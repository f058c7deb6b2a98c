"""Generations: bumped after COMMIT by every write to a watched table."""

import pytest
from django.core.cache import caches
from django.db import connection, transaction

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from security.cache.generations import (
    SHARED_ALIAS,
    per_request,
    scope_generation,
    scopes_bump,
    written_scopes,
)
from tasks.tests.factories import TaskLogFactory


class TestWrittenScopes:
    def test_an_insert_into_contacts_is_a_contacts_write(self):
        sql = 'INSERT INTO "contacts_contact" ("name") VALUES (%s)'

        assert written_scopes(sql) == ("contacts",)

    def test_a_delete_of_task_logs_is_a_task_logs_write(self):
        sql = 'DELETE FROM "tasks_tasklog" WHERE "tasks_tasklog"."id" IN (%s)'

        assert written_scopes(sql) == ("task_logs",)

    def test_a_truncate_of_both_tables_writes_both_scopes(self):
        sql = 'TRUNCATE "contacts_contact", "tasks_tasklog";'

        assert set(written_scopes(sql)) == {"contacts", "task_logs"}

    def test_a_select_for_update_is_no_write(self):
        sql = 'SELECT "contacts_contact"."id" FROM "contacts_contact" FOR UPDATE'

        assert written_scopes(sql) == ()

    def test_a_write_to_another_table_is_no_cached_scope(self):
        sql = 'UPDATE "django_session" SET "expire_date" = %s'

        assert written_scopes(sql) == ()

    def test_a_queryset_update_of_users_writes_the_auth_scope(self):
        sql = 'UPDATE "auth_user" SET "is_active" = %s'

        assert written_scopes(sql) == ("auth",)


@pytest.mark.django_db
class TestScopeGeneration:
    def test_a_bump_moves_the_generation_on(self):
        before = scope_generation("contacts")

        scopes_bump("contacts")

        assert scope_generation("contacts") != before

    def test_a_bump_leaves_other_scopes_alone(self):
        before = scope_generation("task_logs")

        scopes_bump("contacts")

        assert scope_generation("task_logs") == before

    def test_a_request_reads_a_generation_once(self):
        with per_request():
            first = scope_generation("contacts")
            caches[SHARED_ALIAS].incr("cache:generation:contacts")

            assert scope_generation("contacts") == first

    def test_a_bump_within_a_request_is_seen_by_the_request(self):
        with per_request():
            before = scope_generation("contacts")
            scopes_bump("contacts")

            assert scope_generation("contacts") != before

    def test_a_lost_generation_starts_again_at_a_new_value(self):
        before = scope_generation("contacts")
        caches[SHARED_ALIAS].delete("cache:generation:contacts")

        assert scope_generation("contacts") not in (None, before)


@pytest.mark.django_db(transaction=True)
class TestBumpOnWrite:
    def test_a_write_in_a_transaction_bumps_only_after_commit(self):
        before = scope_generation("contacts")

        with transaction.atomic():
            ContactFactory()
            during = scope_generation("contacts")

        assert during == before
        assert scope_generation("contacts") != before

    def test_a_rolled_back_write_does_not_bump(self):
        before = scope_generation("contacts")

        def abandoned_write() -> None:
            with transaction.atomic():
                ContactFactory()
                raise RuntimeError("abandon")

        with pytest.raises(RuntimeError):
            abandoned_write()

        assert scope_generation("contacts") == before

    def test_an_autocommit_bulk_update_bumps_at_once(self):
        ContactFactory()
        before = scope_generation("contacts")

        Contact.objects.update(name="Renamed")

        assert scope_generation("contacts") != before

    def test_a_raw_sql_write_bumps(self):
        ContactFactory()
        before = scope_generation("contacts")

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM contacts_contact")

        assert scope_generation("contacts") != before

    def test_a_task_log_write_bumps_task_logs(self):
        before = scope_generation("task_logs")

        TaskLogFactory()

        assert scope_generation("task_logs") != before
