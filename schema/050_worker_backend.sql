-- SPDX-License-Identifier: Apache-2.0
-- What each worker reads mailboxes through (its `backend` setting, reported with its
-- heartbeats): the site shows it, and a task a site's Graph workers cannot run is refused when
-- it is created instead of failing at each run. NULL: a worker older than this column.
ALTER TABLE site_workers ADD COLUMN backend text CHECK (backend IN ('ews', 'graph'));
