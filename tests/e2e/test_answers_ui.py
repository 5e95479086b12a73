"""Five kinds of answer as a person sees them in the web UI (real Chromium): a command, a configuration block,
a concept, a decline and a follow-up. Screenshots go to test-artifacts/answers/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import READER_CACHE, make_settings
from tests.e2e.test_web_ui import browser  # noqa: F401  (the shared Chromium fixture)
from tests.integration.server import running_server

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "answers"

NETWORK = """# Network configuration

## Giving the server a static IP address

By default the installer configures the network with DHCP. A server usually needs a fixed address, so that
clients and DNS records can rely on it.

To give the server a static IP address, replace the `dhcp` stanza in `/etc/network/interfaces` with a
static one:

```
auto eth0
iface eth0 inet static
    address 192.168.0.3/24
    gateway 192.168.0.1
```

The netmask is given by the /24 suffix of the address.

## The firewall

The firewall is managed with ufw. It is off after installation.

To turn the firewall on, allowing SSH first so that you keep your session, run:

    sudo ufw allow ssh
    sudo ufw enable

To turn the firewall off again, run `sudo ufw disable`. The rules you added are kept for the next time.
"""

WEB = """# Web server

## Restarting Apache

After changing a virtual host, check the configuration and restart Apache to load it:

    sudo apachectl configtest
    sudo systemctl restart apache2

## What a reverse proxy does

A reverse proxy is a server that receives requests from clients and forwards them to one or more backend
servers, then returns their responses as if they were its own. Clients only ever talk to the proxy, so the
backends can be moved, scaled or restarted without clients noticing. Apache acts as a reverse proxy with the
mod_proxy module.
"""


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def ask(page: Page, question: str, index: int, timeout: float = 60_000) -> object:
    page.fill("#question", question)
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").nth(index)
    expect(answer.get_by_role("button", name="Copy")).to_be_visible(timeout=timeout)  # the answer is complete
    return answer


def test_five_kinds_of_answer(browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "admin-manual"
    folder.mkdir()
    (folder / "network.md").write_text(NETWORK)
    (folder / "web.md").write_text(WEB)
    with running_server(make_settings(tmp_path)) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        page.goto(base)
        page.fill("#new-name", "manual")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#collection-title")).to_have_text("manual")
        page.set_input_files("#folder-input", str(folder))
        expect(page.locator("#upload-text")).to_contain_text("Done:", timeout=180_000)
        page.get_by_role("tab", name="Ask").click()

        command = ask(page, "How do I restart Apache after changing a virtual host?", 0)
        expect(command.locator("pre.code")).to_contain_text("sudo systemctl restart apache2")
        expect(command.locator(".sources")).to_contain_text("web.md · Restarting Apache · lines")
        shot(page, "1-command")

        config = ask(page, "How do I give the server a static IP address?", 1)
        expect(config.locator("pre.code")).to_contain_text("iface eth0 inet static")
        expect(config.locator("pre.code")).to_contain_text("gateway 192.168.0.1")
        shot(page, "2-config-block")

        concept = ask(page, "What is a reverse proxy?", 2)
        expect(concept).to_contain_text("receives requests from clients and forwards them")
        expect(concept.locator("pre.code")).to_have_count(0)
        shot(page, "3-concept")

        declined = ask(page, "How do I configure a Kubernetes ingress controller?", 3)
        expect(declined).to_contain_text("I could not find the answer in the documents.")
        expect(declined).to_have_class("message assistant declined")
        shot(page, "4-decline")

        ask(page, "How do I turn on the firewall?", 4)
        follow_up = ask(page, "And how do I turn it off again?", 5)
        expect(follow_up).to_contain_text("sudo ufw disable")
        expect(follow_up).not_to_contain_text("sudo ufw enable")
        shot(page, "5-follow-up")
        page.close()


GATEWAY = """= Gateway settings

== Timeouts and retries

gateway.timeout::
\tHow long the gateway waits for a backend before it answers 504 Gateway Timeout. The default is 30 seconds.

gateway.retries::
\tHow many times a request that failed is sent again, each time to another backend. The default is 2.

== Logging

gateway.access_log::
\tThe file every request is written to, one line each, in the combined log format.
"""


@pytest.mark.slow
def test_the_reader_names_the_setting_rewrites_the_follow_up_and_flags_a_near_miss(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    folder = tmp_path / "gateway-docs"
    folder.mkdir()
    (folder / "gateway-settings.txt").write_text(GATEWAY)
    settings = make_settings(tmp_path, reader="llamacpp", model_cache_dir=READER_CACHE)
    with running_server(settings) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        page.goto(base)
        page.fill("#new-name", "gateway")
        page.get_by_role("button", name="Create").click()
        expect(page.locator("#collection-title")).to_have_text("gateway")
        page.set_input_files("#folder-input", str(folder))
        expect(page.locator("#upload-text")).to_contain_text("Done:", timeout=180_000)
        page.get_by_role("tab", name="Ask").click()

        setting = ask(page, "How long does the gateway wait for a slow backend before giving up?", 0, 180_000)
        expect(setting.locator(".status-badge")).to_have_text("Answered")
        expect(setting.locator(".answer")).to_contain_text("gateway.timeout")
        shot(page, "6-reader-setting-named")

        follow_up = ask(page, "What is its default value?", 1, 180_000)
        expect(follow_up.locator(".searched-for")).to_contain_text("Searched for:")
        expect(follow_up.locator(".searched-for")).to_contain_text("timeout")
        expect(follow_up.locator(".answer")).to_contain_text("30 seconds")
        shot(page, "7-reader-follow-up-rewritten")

        near_miss = ask(page, "Which gateway setting limits how many requests per second one client may send?", 2,
                        180_000)  # fmt: skip
        expect(near_miss.locator(".status-badge")).not_to_have_text("Answered")
        expect(near_miss).to_have_class("message assistant declined")
        shot(page, "8-reader-near-miss")
        page.close()
