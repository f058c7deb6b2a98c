"""The admin's everyday flows, clicked through in headless Chromium.

selenium drives Debian's ``chromium`` through ``chromedriver`` against
gunicorn with DEBUG off: log in, add a contact, find it by phone, edit it,
read task logs, disable a task, run one now (with a scheduler process
beside the server), and the login limit on the admin form. Without
Chromium and its driver these tests are skipped, unless
``AUTOM8_REQUIRE_BROWSER=1`` (CI) makes their absence a failure.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from tasks.models import Task, TaskLog
from tasks.selectors import scheduler_state
from tasks.services.catalog import task_seed
from tasks.tests.factories import TaskFactory, TaskLogFactory
from tests.factories import DEFAULT_PASSWORD, AdminFactory
from tests.servers import gunicorn_server, scheduler_process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LOGIN_LIMIT = 3


def _programs() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    if os.environ.get("AUTOM8_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium is required: apt-get install -y chromium chromium-driver")
    pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")


@pytest.fixture
def server(transactional_db) -> Iterator[str]:
    """gunicorn with DEBUG off and a low login limit, on the test database.

    One per test: the flush between tests recreates content types under new
    ids, which a longer-lived worker would still have cached (the admin's
    change log would then break a foreign key).
    """
    with gunicorn_server(
        workers=1, threads=4, DEBUG="false", RATE_LIMIT_LOGIN=str(LOGIN_LIMIT)
    ) as base:
        yield base


@pytest.fixture(scope="module")
def chrome(tmp_path_factory) -> Iterator[WebDriver]:
    """One headless Chromium for the module."""
    chromium, driver = _programs()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(driver))
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


@pytest.fixture
def browser(chrome, server) -> WebDriver:
    """The module's browser with no cookies left from an earlier test."""
    chrome.get(f"{server}/admin/login/")
    chrome.delete_all_cookies()
    return chrome


@pytest.fixture
def logged_in(browser, server) -> WebDriver:
    """The browser, signed in to the admin as a superuser."""
    admin = AdminFactory()
    _log_in(browser, server, admin.username, DEFAULT_PASSWORD)
    _wait(browser).until(ec.presence_of_element_located((By.ID, "user-tools")))
    return browser


def _wait(browser: WebDriver) -> WebDriverWait:
    return WebDriverWait(browser, 20)


def _replaced(page: WebElement):
    """Wait condition: ``page`` (the old document's root) is gone.

    ``ec.staleness_of`` only counts a stale-element error as gone; while the
    next document loads, Chromium may instead answer that the node "does not
    belong to the document", which means the same.
    """

    def gone(_browser: WebDriver) -> bool:
        try:
            page.is_enabled()
        except WebDriverException:  # stale, or no longer in the document
            return True
        return False

    return gone


def _log_in(browser: WebDriver, server: str, username: str, password: str) -> None:
    browser.get(f"{server}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    _wait(browser).until(_replaced(page))


def _submit(browser: WebDriver, name: str) -> None:
    """Click a submit button and wait for the next page."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.NAME, name).click()
    _wait(browser).until(_replaced(page))


def _success_messages(browser: WebDriver) -> list[str]:
    return [
        li.text
        for li in browser.find_elements(By.CSS_SELECTOR, ".messagelist .success")
    ]


def _result_texts(browser: WebDriver) -> str:
    return browser.find_element(By.ID, "result_list").text


def test_admin_signs_in_to_the_site_administration(logged_in):
    assert logged_in.find_element(By.ID, "site-name").text
    assert "Site administration" in logged_in.title


def test_admin_adds_a_contact(logged_in, server):
    logged_in.get(f"{server}/admin/contacts/contact/add/")
    logged_in.find_element(By.NAME, "name").send_keys("Amina Otieno")
    logged_in.find_element(By.NAME, "phone").send_keys("+254712345678")
    logged_in.find_element(By.NAME, "email").send_keys("amina@example.com")

    _submit(logged_in, "_save")

    assert any("was added successfully" in m for m in _success_messages(logged_in))
    stored = Contact.objects.get()
    assert (stored.name, stored.phone) == ("Amina Otieno", "+254712345678")


def test_admin_finds_a_contact_by_its_phone_number(logged_in, server):
    ContactFactory(name="Amina Otieno", phone="+254712345678")
    ContactFactory(name="Baraka Mwangi", phone="+254733000111")
    logged_in.get(f"{server}/admin/contacts/contact/")
    search = logged_in.find_element(By.ID, "searchbar")

    search.send_keys("+254712345678")
    page = logged_in.find_element(By.TAG_NAME, "html")
    search.submit()
    _wait(logged_in).until(_replaced(page))

    results = _result_texts(logged_in)
    assert "Amina Otieno" in results
    assert "Baraka Mwangi" not in results


def test_admin_edits_a_contact(logged_in, server):
    contact = ContactFactory(name="Amina Otieno")
    logged_in.get(f"{server}/admin/contacts/contact/{contact.pk}/change/")
    name = logged_in.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("Amina Wanjiru")

    _submit(logged_in, "_save")

    assert any("was changed successfully" in m for m in _success_messages(logged_in))
    contact.refresh_from_db()
    assert contact.name == "Amina Wanjiru"


def test_admin_sees_the_task_logs(logged_in, server):
    TaskLogFactory(task_type="backup", task_name="Daily Backup", status="failed")

    logged_in.get(f"{server}/admin/tasks/tasklog/")

    row = logged_in.find_element(By.CSS_SELECTOR, "#result_list tbody tr").text
    assert "backup" in row
    assert "failed" in row.lower()


def test_admin_disables_a_task(logged_in, server):
    task = TaskFactory(id="cleanup", name="Hourly Cleanup", is_enabled=True)
    logged_in.get(f"{server}/admin/tasks/task/{task.pk}/change/")

    logged_in.find_element(By.NAME, "is_enabled").click()
    _submit(logged_in, "_save")

    assert any("was changed successfully" in m for m in _success_messages(logged_in))
    task.refresh_from_db()
    assert task.is_enabled is False


def _wait_until(condition, *, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        time.sleep(0.2)


def test_admin_runs_a_task_now(logged_in, server, tmp_path):
    task_seed()
    with scheduler_process(output=tmp_path / "scheduler.log"):
        _wait_until(lambda: scheduler_state().running, what="the scheduler to lead")
        logged_in.get(f"{server}/admin/tasks/task/")
        logged_in.find_element(
            By.CSS_SELECTOR, "input[name=_selected_action][value=cleanup]"
        ).click()
        Select(logged_in.find_element(By.NAME, "action")).select_by_value("run_now")

        _submit(logged_in, "index")

        messages = _success_messages(logged_in)
        runs = list(TaskLog.objects.filter(task_type="cleanup"))
    assert any("cleanup" in m for m in messages), messages
    assert [run.status for run in runs] in (
        ["queued"],
        ["running"],
        ["completed"],
    )
    assert Task.objects.filter(pk="cleanup").exists()


def test_admin_login_is_refused_after_too_many_failures(browser, server):
    admin = AdminFactory()
    for _ in range(LOGIN_LIMIT):
        _log_in(browser, server, admin.username, "not-the-password")

    _log_in(browser, server, admin.username, DEFAULT_PASSWORD)

    page = browser.find_element(By.TAG_NAME, "body").text.lower()
    assert browser.find_elements(By.ID, "user-tools") == []
    assert "too many" in page or "try again" in page
