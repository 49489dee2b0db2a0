"""Labels: the workspace's list (admins), on conversations (API and thread header), the list
filtered by a label and its view in the sidebar; nothing crosses workspaces."""

from __future__ import annotations

import pytest
from django.test import Client

from frontdesk.inbox.actions.labels import create_label, set_labels
from frontdesk.inbox.models import ConversationLabel, Label, Message
from tests.fixtures import make_api_channel, token_client


@pytest.fixture
def conversation(inbound):
    return inbound("Where is my invoice?", handle="ana-1", contact_name="Ana Lima").conversation


@pytest.fixture
def published(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def record(workspace_id: int, event_type: str, **data) -> None:
        if event_type.startswith(("conversation.labels", "labels.")):
            calls.append((workspace_id, event_type, data))

    monkeypatch.setattr("frontdesk.realtime.publish.publish", record)
    return calls


def browser(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def test_admins_add_labels_through_the_api_and_everyone_lists_them(owner, agent):
    api = token_client(owner)
    made = api.post(
        "/api/v1/labels",
        {"name": "  Billing ", "color": "#E5484D"},
        content_type="application/json",
    )
    assert made.status_code == 201
    assert made.json() == {"id": made.json()["id"], "name": "Billing", "color": "#e5484d"}
    api.post("/api/v1/labels", {"name": "Awaiting parts"}, content_type="application/json")
    listed = token_client(agent).get("/api/v1/labels").json()
    assert [(x["name"], x["color"]) for x in listed["items"]] == [
        ("Awaiting parts", "#8b8d98"),
        ("Billing", "#e5484d"),
    ]
    assert listed["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"name": "billing", "color": "#0090ff"}, 400, "already a label called “billing”"),
        ({"name": " ", "color": "#0090ff"}, 400, "a label needs a name"),
        ({"name": "x" * 51, "color": "#0090ff"}, 400, "at most 50 characters"),
        ({"name": "Red", "color": "red"}, 400, "color must be one of #e5484d"),
    ],
)
def test_a_bad_label_is_refused_with_the_reason(owner, body, status, says):
    create_label(owner.workspace_id, "Billing", "#e5484d")
    answer = token_client(owner).post("/api/v1/labels", body, content_type="application/json")
    assert answer.status_code == status
    assert says in answer.json()["detail"]
    assert Label.objects.count() == 1


def test_an_agent_cannot_add_labels(agent):
    answer = token_client(agent).post(
        "/api/v1/labels", {"name": "Mine"}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert not Label.objects.exists()


def test_put_sets_exactly_these_labels_says_so_in_the_thread_and_tells_every_page(
    owner, agent, conversation, published
):
    billing = create_label(owner.workspace_id, "Billing", "#e5484d")
    vip = create_label(owner.workspace_id, "VIP", "#6e56cf")
    api = token_client(agent)
    url = f"/api/v1/conversations/{conversation.pk}/labels"
    answer = api.put(url, {"label_ids": [vip.pk, billing.pk]}, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["labels"] == [
        {"id": billing.pk, "name": "Billing", "color": "#e5484d"},
        {"id": vip.pk, "name": "VIP", "color": "#6e56cf"},
    ]
    answer = api.put(url, {"label_ids": [vip.pk]}, content_type="application/json")
    assert [x["name"] for x in answer.json()["labels"]] == ["VIP"]
    lines = list(Message.objects.filter(conversation=conversation, kind="event").order_by("id"))
    assert [m.text for m in lines] == [
        "Agnes Agent added Billing, VIP",
        "Agnes Agent removed Billing",
    ]
    # the same labels again: nothing written, nothing published
    api.put(url, {"label_ids": [vip.pk]}, content_type="application/json")
    assert Message.objects.filter(conversation=conversation, kind="event").count() == 2
    assert published == [
        (
            owner.workspace_id,
            "conversation.labels",
            {"conversation_id": conversation.pk, "message_id": line.pk},
        )
        for line in lines
    ]
    listed = api.get(f"/api/v1/conversations/{conversation.pk}").json()
    assert [x["name"] for x in listed["labels"]] == ["VIP"]


def test_the_list_filters_by_label(owner, inbound, conversation):
    other = inbound("Hello", handle="bo-2", contact_name="Bo Berg").conversation
    billing = create_label(owner.workspace_id, "Billing", "#e5484d")
    set_labels(owner.user, conversation, [billing.pk])
    api = token_client(owner)
    ids = [c["id"] for c in api.get(f"/api/v1/conversations?label={billing.pk}").json()["items"]]
    assert ids == [conversation.pk]
    assert len(api.get("/api/v1/conversations").json()["items"]) == 2
    assert other.pk not in ids


def test_labels_never_cross_workspaces(owner, rival, callback, conversation):
    ours = create_label(owner.workspace_id, "Billing", "#e5484d")
    theirs = create_label(rival.workspace_id, "Billing", "#e5484d")  # same name: fine
    rival_api = token_client(rival)
    assert [x["id"] for x in rival_api.get("/api/v1/labels").json()["items"]] == [theirs.pk]
    # their label on our conversation, our label on their list, our conversation by them
    api = token_client(owner)
    answer = api.put(
        f"/api/v1/conversations/{conversation.pk}/labels",
        {"label_ids": [ours.pk, theirs.pk]},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["detail"] == f"no such labels in this workspace: [{theirs.pk}]"
    assert not ConversationLabel.objects.exists()
    assert rival_api.get(f"/api/v1/conversations?label={ours.pk}").status_code == 404
    answer = rival_api.put(
        f"/api/v1/conversations/{conversation.pk}/labels",
        {"label_ids": [theirs.pk]},
        content_type="application/json",
    )
    assert answer.status_code == 404
    # the settings page cannot touch another workspace's label either
    make_api_channel(rival, callback.url)
    page = browser(rival)
    answer = page.post(
        "/settings/labels/", {"action": "delete", "label": ours.pk, "name": "", "color": ""}
    )
    assert answer.status_code == 404
    assert Label.objects.filter(pk=ours.pk).exists()
    answer = page.post(f"/c/{conversation.pk}/labels", {"label": theirs.pk, "on": "1"})
    assert answer.status_code == 404


def test_admins_keep_the_list_on_the_settings_page(owner, agent, published):
    page = browser(owner)
    answer = page.post(
        "/settings/labels/",
        {"action": "create", "name": "Billing", "color": "#0090ff"},
        follow=True,
    )
    assert "Label “Billing” added." in answer.content.decode()
    label = Label.objects.get()
    assert (label.name, label.color) == ("Billing", "#0090ff")
    answer = page.post(
        "/settings/labels/",
        {"action": "update", "label": label.pk, "name": "Invoices", "color": "#30a46c"},
        follow=True,
    )
    assert "Label “Invoices” saved." in answer.content.decode()
    answer = page.post(
        "/settings/labels/",
        {"action": "create", "name": "invoices", "color": "#30a46c"},
        follow=True,
    )
    assert "There is already a label called “invoices”." in answer.content.decode()
    # an agent sees the list but cannot change it
    shown = browser(agent).get("/settings/labels/").content.decode()
    assert "Invoices" in shown and "Add label" not in shown
    answer = browser(agent).post(
        "/settings/labels/", {"action": "delete", "label": label.pk, "name": "", "color": ""}
    )
    assert answer.status_code == 403
    page.post("/settings/labels/", {"action": "delete", "label": label.pk, "name": "", "color": ""})
    assert not Label.objects.exists()
    assert [e[1] for e in published] == ["labels.changed", "labels.changed"]


def test_the_thread_header_adds_and_removes_a_label_and_the_sidebar_has_its_view(
    owner, agent, conversation
):
    billing = create_label(owner.workspace_id, "Billing", "#e5484d")
    page = browser(agent)
    header = page.post(
        f"/c/{conversation.pk}/labels", {"label": billing.pk, "on": "1"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'class="tm-label lc-0">Billing</span>' in header
    assert "Agnes Agent added Billing" in header  # the event line, swapped into the thread
    assert list(conversation.labels.all()) == [billing]
    inbox = page.get(f"/?label={billing.pk}").content.decode()
    assert f'data-label-view="{billing.pk}"' in inbox
    assert f'id="conv-{conversation.pk}"' in inbox
    page.post(f"/c/{conversation.pk}/labels", {"label": billing.pk, "on": "0"})
    assert not conversation.labels.exists()
    assert f'id="conv-{conversation.pk}"' not in page.get(f"/?label={billing.pk}").content.decode()
