-- SPDX-License-Identifier: Apache-2.0
-- Foundation: extensions and helpers every later migration may use.
-- gen_random_uuid() is built into PostgreSQL 13+; nothing to install.

-- Keeps updated_at honest without trusting every UPDATE statement to set it.
CREATE FUNCTION mse_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
