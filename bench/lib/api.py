# SPDX-License-Identifier: Apache-2.0
"""The few admin and worker API calls benchmarks make to set up their data (not timed)."""
import requests

ADMIN = ("bench-admin", "bench-admin-secret-0123456789")


class Api:
    def __init__(self, base_url, client_id=ADMIN[0], secret=ADMIN[1]):
        self.base = base_url
        self.session = requests.Session()
        self.token = self.token_for(client_id, secret)
        self.session.headers["Authorization"] = "Bearer " + self.token

    def token_for(self, client_id, secret):
        r = requests.post(self.base + "/api/v1/oauth/token", auth=(client_id, secret),
                          data={"grant_type": "client_credentials"}, timeout=30)
        r.raise_for_status()
        return r.json()["access_token"]

    def call(self, method, path, expect, **kw):
        r = self.session.request(method, self.base + path, timeout=120, **kw)
        if r.status_code != expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    def site(self, name):
        return self.call("POST", "/api/v1/sites", 201, json={"name": name})

    def schedule(self, name):
        """A one-off schedule in the far future: the scheduler never queues anything."""
        return self.call("POST", "/api/v1/schedules", 201,
                         json={"name": name, "timezone": "UTC", "type": "one_off",
                               "run_at": "2099-01-01T00:00:00Z"})

    def definition(self, settings=None, type_="mailbox_folder_replication"):
        body = {"type": type_, "description": "bench"}
        if settings is not None:
            body["settings"] = settings
        return self.call("POST", "/api/v1/definitions", 201, json=body)

    def task(self, name, site, schedule, definition, group):
        return self.call("POST", "/api/v1/exchange-tasks", 201,
                         json={"name": name, "site_id": site["id"], "type": definition["type"],
                               "definition_id": definition["id"], "schedule_id": schedule["id"],
                               "group": group})

    def run(self, task_id):
        return self.call("POST", f"/api/v1/exchange-tasks/{task_id}/run", 202)


class SiteWorker:
    """A site's credentials speaking the worker protocol (docs/worker-protocol.md)."""

    def __init__(self, base_url, site):
        creds = site["credentials"]
        self.client_id, self.secret = creds["client_id"], creds["client_secret"]
        self.api = Api(base_url, self.client_id, self.secret)

    def claim(self, worker_id="bench"):
        r = self.api.session.post(self.api.base + "/api/v1/worker/claims",
                                  json={"worker_id": worker_id}, timeout=60)
        if r.status_code == 204:
            return None
        r.raise_for_status()
        return r.json()
