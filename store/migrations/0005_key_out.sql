-- 0005: the fingerprint key leaves the checkpoint (DESIGN.md, "privacy").
--
-- meta kept the HMAC key beside the fingerprints it made, so the checkpoint
-- files alone gave back every card by trying the digits the mask hides.
-- The key now lives in a key file apart (store.DefaultKeyPath, --key-file);
-- meta keeps only its ID (store.Key.ID), so that a wrong or missing key is
-- refused instead of silently making new fingerprints. store.migrate moves
-- an older checkpoint's key to the key file before this runs, sets key_id
-- after it, and runs it with secure_delete on so that the dropped page is
-- zeroed.
CREATE TABLE meta_new (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	key_id     TEXT NOT NULL, -- store.Key.ID of the key file's key
	created_at TEXT NOT NULL
);
INSERT INTO meta_new (id, key_id, created_at) SELECT id, '', created_at FROM meta;
DROP TABLE meta;
ALTER TABLE meta_new RENAME TO meta;
