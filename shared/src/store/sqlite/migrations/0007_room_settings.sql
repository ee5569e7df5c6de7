-- A room's switches as one JSON object keyed by the names the API uses (allowChat, …): a
-- switch added later needs no migration, and a room written before it reads the default.
ALTER TABLE rooms ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
UPDATE rooms SET settings = json_object(
    'allowChat', json(CASE allow_chat WHEN 0 THEN 'false' ELSE 'true' END),
    'allowVideo', json(CASE allow_video WHEN 0 THEN 'false' ELSE 'true' END),
    'allowAudio', json(CASE allow_audio WHEN 0 THEN 'false' ELSE 'true' END),
    'requireApproval', json(CASE require_approval WHEN 0 THEN 'false' ELSE 'true' END),
    'e2ee', json(CASE e2ee WHEN 0 THEN 'false' ELSE 'true' END),
    'isPersistent', json(CASE is_persistent WHEN 0 THEN 'false' ELSE 'true' END),
    'recordingsAllowed', json(CASE recordings_allowed WHEN 0 THEN 'false' ELSE 'true' END)
);
ALTER TABLE rooms DROP COLUMN allow_chat;
ALTER TABLE rooms DROP COLUMN allow_video;
ALTER TABLE rooms DROP COLUMN allow_audio;
ALTER TABLE rooms DROP COLUMN require_approval;
ALTER TABLE rooms DROP COLUMN e2ee;
ALTER TABLE rooms DROP COLUMN is_persistent;
ALTER TABLE rooms DROP COLUMN recordings_allowed;
