# SPDX-License-Identifier: Apache-2.0
"""SyncFolderItems / SyncFolderHierarchy semantics: paging, incremental changes, bad states."""
import base64
import os

import pytest

import harness
import simlib
from ewsclient import Client

ALICE = "alice@example.com"


@pytest.fixture
def c(fresh):
    return Client(fresh)


def ids(changes, kind=None):
    return [i for k, i, _ in changes if kind is None or k == kind]


def test_first_sync_returns_every_item_as_create(c):
    inbox = c.folder_id("inbox")
    changes, state, pages = c.sync_all(inbox)
    assert [k for k, _, _ in changes] == ["Create"] * 3
    subjects = sorted(item.find("{*}Subject").text for _, _, item in changes)
    assert subjects == ["Lunch?", "Private matter", "Quarterly report"]
    assert pages == 1
    again = c.sync_items(inbox, state)
    assert again["changes"] == [] and again["last"]


def test_recipient_lists_are_not_returned_even_when_asked_for(c):
    """As Exchange (and FindItem): no ToRecipients / CcRecipients, Body or Attachments from
    SyncFolderItems; a replica must fetch them with GetItem. Sender and From are returned."""
    uris = ("item:Subject", "message:ToRecipients", "message:CcRecipients", "message:From",
            "item:Body", "item:Attachments")
    changes = c.sync_items(c.folder_id("inbox"), uris=uris)["changes"]
    quarterly = next(item for _, _, item in changes
                     if item.find("{*}Subject").text == "Quarterly report")
    present = {child.tag.split("}")[1] for child in quarterly}
    assert {"Subject", "From"} <= present
    assert not present & {"ToRecipients", "CcRecipients", "Body", "Attachments"}, present


def test_paging_returns_each_item_once_with_new_states(c):
    inbox = c.folder_id("inbox")
    for n in range(5):
        c.sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                      json={"type": "message", "subject": f"extra {n}"})
    changes, state, pages = c.sync_all(inbox, max_changes=2)
    assert pages == 4
    assert len(changes) == 8 and len(set(ids(changes))) == 8


def test_incremental_create_update_read_flag_move_delete(c):
    sim = c.sim
    inbox, projects = c.folder_id("inbox"), None
    changes, state, _ = c.sync_all(inbox)
    by_subject = {item.find("{*}Subject").text: iid for _, iid, item in changes}
    folders = sim.get(f"/mailboxes/{ALICE}/folders")["items"]
    projects = next(f for f in folders if f["path"] == "/Inbox/Projects")["folder_id"]
    _, pstate, _ = c.sync_all(projects)

    new = sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                      json={"type": "message", "subject": "brand new"}).json()["item_id"]
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{by_subject['Lunch?']}",
                json={"subject": "Lunch at noon"}, expect=200)
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{by_subject['Quarterly report']}",
                json={"is_read": True}, expect=200)
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{by_subject['Private matter']}",
                json={"folder": "/Inbox/Projects"}, expect=200)
    changes, state2, _ = c.sync_all(inbox, state)
    got = sorted((k, i) for k, i, _ in changes)
    assert got == sorted([("Create", new), ("Update", by_subject["Lunch?"]),
                          ("ReadFlagChange", by_subject["Quarterly report"]),
                          ("Delete", by_subject["Private matter"])])
    rf = next(v for k, _, v in changes if k == "ReadFlagChange")
    assert rf == "true"
    pchanges, _, _ = c.sync_all(projects, pstate)
    assert [(k, i) for k, i, _ in pchanges] == [("Create", by_subject["Private matter"])]

    sim.control("DELETE", f"/mailboxes/{ALICE}/items/{new}", expect=200)
    changes, state3, _ = c.sync_all(inbox, state2)
    assert [(k, i) for k, i, _ in changes] == [("Delete", new)]
    assert c.sync_items(inbox, state3)["changes"] == []


def test_created_then_deleted_between_syncs_is_invisible(c):
    inbox = c.folder_id("inbox")
    _, state, _ = c.sync_all(inbox)
    iid = c.sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                        json={"type": "message", "subject": "ephemeral"}).json()["item_id"]
    c.sim.control("DELETE", f"/mailboxes/{ALICE}/items/{iid}", expect=200)
    assert c.sync_items(inbox, state)["changes"] == []


def test_ignore_list_skips_items(c):
    inbox = c.folder_id("inbox")
    first = c.sync_items(inbox)
    skip = ids(first["changes"])[0]
    again = c.sync_items(inbox, ignore=[skip])
    assert skip not in ids(again["changes"]) and len(again["changes"]) == 2


def test_change_key_changes_on_every_modification(c):
    inbox = c.folder_id("inbox")
    changes, state, _ = c.sync_all(inbox)
    _, iid, item = changes[0]
    ck1 = item.find("{*}ItemId").get("ChangeKey")
    c.sim.control("PATCH", f"/mailboxes/{ALICE}/items/{iid}", json={"subject": "x"}, expect=200)
    changes, state, _ = c.sync_all(inbox, state)
    ck2 = changes[0][2].find("{*}ItemId").get("ChangeKey")
    assert ck1 != ck2


def tampered(state):
    raw = bytearray(base64.b64decode(state))
    raw[25] ^= 1  # inside the watermark
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("make_bad", [
    tampered,
    lambda s: s[:-8],
    lambda s: "AAAA" + s,
    lambda s: "not base64 at all!",
])
def test_bad_state_is_invalid_sync_state_data(c, make_bad):
    inbox = c.folder_id("inbox")
    _, state, _ = c.sync_all(inbox)
    page = c.sync_items(inbox, make_bad(state))
    assert page["class"] == "Error" and page["code"] == "ErrorInvalidSyncStateData"
    assert page["state"] is None and page["last"] is True


def test_state_of_another_folder_is_refused(c):
    _, state, _ = c.sync_all(c.folder_id("inbox"))
    page = c.sync_items(c.folder_id("sentitems"), state)
    assert page["code"] == "ErrorInvalidSyncStateData"


def test_reset_and_invalidation_refuse_old_states(c):
    inbox = c.folder_id("inbox")
    _, state, _ = c.sync_all(inbox)
    c.sim.control("POST", f"/mailboxes/{ALICE}/invalidate-sync-state", expect=200)
    assert c.sync_items(inbox, state)["code"] == "ErrorInvalidSyncStateData"
    _, state, _ = c.sync_all(inbox)
    c.sim.control("POST", "/reset", expect=200)
    inbox2 = c.folder_id("inbox")
    assert inbox2 == inbox, "ids are stable across resets"
    assert c.sync_items(inbox, state)["code"] == "ErrorInvalidSyncStateData"


def test_hierarchy_create_rename_move_delete(c):
    sim = c.sim
    first = c.sync_hierarchy()
    names = {n for _, _, n in first["changes"]}
    assert {"Inbox", "Projects", "Calendar", "Team", "Sent Items"} <= names
    assert all(k == "Create" for k, _, _ in first["changes"])
    state = first["state"]
    assert c.sync_hierarchy(state)["changes"] == []

    made = sim.control("POST", f"/mailboxes/{ALICE}/folders", expect=201,
                       json={"parent_path": "/Inbox", "name": "Archive 2023"}).json()
    folders = sim.get(f"/mailboxes/{ALICE}/folders")["items"]
    projects = next(f for f in folders if f["path"] == "/Inbox/Projects")
    sim.control("PATCH", f"/mailboxes/{ALICE}/folders/{projects['folder_id']}",
                json={"display_name": "Projects 2024", "parent_path": "/"}, expect=200)
    step = c.sync_hierarchy(state)
    assert sorted(step["changes"]) == sorted([
        ("Create", made["folder_id"], "Archive 2023"),
        ("Update", projects["folder_id"], "Projects 2024")])
    sim.control("DELETE", f"/mailboxes/{ALICE}/folders/{made['folder_id']}", expect=200)
    step2 = c.sync_hierarchy(step["state"])
    assert step2["changes"] == [("Delete", made["folder_id"], None)]
    # A deleted folder cannot be synced any more.
    page = c.sync_items(made["folder_id"])
    assert page["code"] in ("ErrorSyncFolderNotFound", "ErrorFolderNotFound")


def test_max_changes_bounds_are_enforced_by_schema(c):
    from ewsclient import Fault
    with pytest.raises(Fault) as e:
        c.sync_items(c.folder_id("inbox"), max_changes=513)
    assert e.value.code == "ErrorSchemaValidation"
    with pytest.raises(Fault):
        c.sync_items(c.folder_id("inbox"), max_changes=0)


def test_update_item_of_read_flag_only_is_a_read_flag_change(c):
    inbox = c.folder_id("inbox")
    changes, state, _ = c.sync_all(inbox)
    _, iid, item = next(ch for ch in changes if ch[2].find("{*}Subject").text == "Lunch?")
    size = item.find("{*}Size").text
    ck = item.find("{*}ItemId").get("ChangeKey")
    body = ('<m:UpdateItem ConflictResolution="AutoResolve" MessageDisposition="SaveOnly">'
            f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{iid}" ChangeKey="{ck}"/><t:Updates>'
            '<t:SetItemField><t:FieldURI FieldURI="message:IsRead"/>'
            "<t:Message><t:IsRead>false</t:IsRead></t:Message></t:SetItemField>"
            "</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>")
    msg = c.messages(c.call(body))[0]
    assert msg.get("ResponseClass") == "Success"
    page = c.sync_items(inbox, state)
    assert [(k, i, v) for k, i, v in page["changes"]] == [("ReadFlagChange", iid, "false")]
    # A stale ChangeKey now conflicts; the size did not move with the read flag.
    msg = c.messages(c.call(body))[0]
    assert msg.find("{*}ResponseCode").text == "ErrorIrresolvableConflict"
    exp = c.sim.export(ALICE)
    m = next(x for x in exp["messages"] if x["item_id"] == iid)
    assert str(m["size"]) == size and m["is_read"] is False


def _restarted_sim(data_dir):
    return simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"),
                         env={"EWS_SIM_DATA_DIR": data_dir})


def test_states_survive_a_restart_when_the_sim_keeps_its_key(tmp_path):
    """Exchange's sync states outlive a server restart; with EWS_SIM_DATA_DIR the sim's do
    too, and without it a restarted sim refuses them (another process, another key)."""
    data = str(tmp_path / "sim-data")
    first = _restarted_sim(data)
    try:
        c = Client(first)
        inbox = c.folder_id("inbox")
        _, state, _ = c.sync_all(inbox)
    finally:
        first.stop_clean()
    assert oct(os.stat(os.path.join(data, "syncstate.key")).st_mode & 0o777) == "0o600"
    second = _restarted_sim(data)
    try:
        page = Client(second).sync_items(inbox, state)
        assert page["class"] == "Success" and page["changes"] == [] and page["last"], page
    finally:
        second.stop_clean()
    keyless = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"))
    try:
        assert Client(keyless).sync_items(inbox, state)["code"] == "ErrorInvalidSyncStateData"
    finally:
        keyless.stop_clean()


def test_a_damaged_key_file_stops_the_sim_with_a_message(tmp_path):
    (tmp_path / "syncstate.key").write_bytes(b"short")
    p = harness.Process([harness.binary("ews-sim")],
                        {"EWS_SIM_LISTEN": "127.0.0.1:0", "EWS_SIM_SCHEMA_DIR": simlib.SCHEMA_DIR,
                         "EWS_SIM_DATA_DIR": str(tmp_path)}, None, "ews-sim")
    assert p.wait(60) == 1
    assert "syncstate.key is not a SyncState key" in p.output()
