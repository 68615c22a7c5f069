-- 0006: when the index of a mailbox was last synced with its Maildir folder, as the
-- modification times (Unix nanoseconds) of the folder's new/ and cur/ directories at
-- that moment. Any file added, renamed or removed changes a directory's mtime, so equal
-- stamps after a restart mean the folder is as indexed and the first SELECT need not
-- read a 100,000-entry directory. 0 means "never synced": the folder is scanned.
ALTER TABLE mailboxes ADD COLUMN scan_new_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN scan_cur_ns INTEGER NOT NULL DEFAULT 0;
