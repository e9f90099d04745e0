-- 0007: what an auditor needs to know of each run, for the Summary sheet:
-- who ran it and where (OS user, host), the command line with its secrets
-- replaced, the output it wrote (the API base URL is 0006's) URL, an identifier of the API
-- key that is not the key (juhe.KeyID), and why it stopped (a code the
-- writer renders in the output's language: done, interrupted, deadline,
-- budget, api, error; empty while running or after a crash). Runs recorded
-- before this column existed show empty values.
ALTER TABLE runs ADD COLUMN os_user TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN command TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN output TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN stop TEXT NOT NULL DEFAULT '';
