-- SPDX-License-Identifier: Apache-2.0
-- The peer of progress posts: one UPDATE of one row, chosen at random, per transaction.
\set aid random(1, 100000 * :scale)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
