-- One Bedrud installation's rows, in SQL both SQLite and PostgreSQL read (TRUE/FALSE, ISO
-- timestamps with offsets). Password for every account with one: "correct horse battery".
-- Alice's hash is bcrypt of the SHA-256 digest (newer Bedrud), Bob's and Carol's of the
-- password itself (older Bedrud).
INSERT INTO users (id,email,name,provider,avatar_url,password,refresh_token,accesses,is_active,created_at,updated_at) VALUES
 ('88e260bd-9d8c-459c-83c8-13a3f368bf2b','alice@example.com','Alice','local','',
  '$2a$10$8BKqf6m42cw7I52TSb8TZeZB.jZhKCtw24xgOzdvvZ1UvFZhw79ia','','{superadmin,user}',TRUE,
  '2026-05-01 09:30:12.48151623+00:00','2026-05-01 09:31:02.5+00:00'),
 ('f9f158f2-caaa-4e6d-8da8-99f3b62637b1','bob@example.com','Bob','local','',
  '$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm','','{user}',TRUE,
  '2026-04-02 11:00:00-07:00','2026-04-02 18:00:00+00:00'),
 ('3c7a1f0e-2b4d-4e6f-8a9b-0c1d2e3f4a5b','Carol@Example.COM','Carol','local','',
  '$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm','','{user}',TRUE,
  '2026-04-03 10:00:00+00:00','2026-04-03 10:00:00+00:00'),
 ('583231','dave@example.com','Dave','github','https://avatars.example.com/583231','','','{user}',TRUE,
  '2026-04-04 10:00:00+00:00','2026-04-04 10:00:00+00:00'),
 ('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d','bob@example.com','Bob G','google','','','','{user}',TRUE,
  '2026-04-05 10:00:00+00:00','2026-04-05 10:00:00+00:00'),
 ('b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e','not-an-email','Broken','local','','','','{user}',TRUE,
  '2026-04-06 10:00:00+00:00','2026-04-06 10:00:00+00:00'),
 ('guest-ab12cd34','guest-ab12cd34@bedrud.guest','Visitor','guest','','','','{guest}',TRUE,
  '2026-05-01 10:03:00+00:00','2026-05-01 10:03:00+00:00');
INSERT INTO rooms (id,name,created_by,is_active,max_participants,created_at,updated_at,expires_at,admin_id,is_public,
  settings_allow_chat,settings_allow_video,settings_allow_audio,settings_require_approval,settings_e2_ee,mode) VALUES
 ('baa24ef7-71a9-465a-93fe-86a8e74c0ab0','abc-defg-hij','88e260bd-9d8c-459c-83c8-13a3f368bf2b',TRUE,20,
  '2026-05-01 10:00:00.25+00:00','2026-05-01 10:00:00.25+00:00','2026-05-02 10:00:00.25+00:00',
  '88e260bd-9d8c-459c-83c8-13a3f368bf2b',TRUE,FALSE,TRUE,TRUE,FALSE,FALSE,'webinar'),
 ('c0ffee00-1111-4222-8333-444455556666','old-standup','f9f158f2-caaa-4e6d-8da8-99f3b62637b1',FALSE,0,
  '2026-04-10 09:00:00+00:00','2026-04-11 09:00:00+00:00',NULL,
  'f9f158f2-caaa-4e6d-8da8-99f3b62637b1',FALSE,TRUE,TRUE,TRUE,FALSE,FALSE,'standard'),
 ('d1d2d3d4-1111-4222-8333-444455556666','Bad_Room!','88e260bd-9d8c-459c-83c8-13a3f368bf2b',TRUE,0,
  '2026-04-12 09:00:00+00:00','2026-04-12 09:00:00+00:00',NULL,
  '88e260bd-9d8c-459c-83c8-13a3f368bf2b',FALSE,TRUE,TRUE,TRUE,FALSE,FALSE,'standard'),
 ('e1e2e3e4-1111-4222-8333-444455556666','orphan-room','b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e',TRUE,0,
  '2026-04-12 09:00:00+00:00','2026-04-12 09:00:00+00:00',NULL,
  'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e',FALSE,TRUE,TRUE,TRUE,FALSE,FALSE,'standard');
INSERT INTO room_participants (id,room_id,user_id,joined_at,left_at,is_active,is_banned,is_moderator) VALUES
 ('5d0c2a8e-3b7f-4f0e-9a51-0c1d2e3f4a5b','baa24ef7-71a9-465a-93fe-86a8e74c0ab0',
  'f9f158f2-caaa-4e6d-8da8-99f3b62637b1','2026-05-01 10:02:44.1+00:00','2026-05-01 10:05:00+00:00',FALSE,TRUE,FALSE),
 ('6e1d3b9f-4c8a-4a1f-8b62-1d2e3f4a5b6c','baa24ef7-71a9-465a-93fe-86a8e74c0ab0',
  '3c7a1f0e-2b4d-4e6f-8a9b-0c1d2e3f4a5b','2026-05-01 10:02:50+00:00',NULL,TRUE,FALSE,TRUE),
 ('7f2e4c0a-5d9b-4b2a-9c73-2e3f4a5b6c7d','baa24ef7-71a9-465a-93fe-86a8e74c0ab0',
  'guest-ab12cd34','2026-05-01 10:03:00+00:00','2026-05-01 10:04:00+00:00',FALSE,TRUE,FALSE),
 ('8a3f5d1b-6e0c-4c3b-8d84-3f4a5b6c7d8e','baa24ef7-71a9-465a-93fe-86a8e74c0ab0',
  '583231','2026-05-01 10:03:30+00:00',NULL,TRUE,FALSE,FALSE),
 ('9b4a6e2c-7f1d-4d4c-9e95-4a5b6c7d8e9f','baa24ef7-71a9-465a-93fe-86a8e74c0ab0',
  '88e260bd-9d8c-459c-83c8-13a3f368bf2b','2026-05-01 10:02:40+00:00',NULL,TRUE,FALSE,FALSE);
-- Dave was muted and his chat blocked (columns no handler of Bedrud's wrote; carried all the same).
UPDATE room_participants SET is_muted = TRUE, is_chat_blocked = TRUE WHERE user_id = '583231';
INSERT INTO passkeys (id,user_id,credential_id,public_key,algorithm,counter,name,created_at) VALUES
 ('0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e','88e260bd-9d8c-459c-83c8-13a3f368bf2b','PASSKEY_ID','PASSKEY_KEY',
  -7,0,'Passkey','2026-05-01 09:35:00+00:00');
INSERT INTO invite_tokens (id,token,email,created_by,expires_at,used_at,used_by,created_at) VALUES
 ('11111111-2222-4333-8444-555555555555','0123456789abcdef0123456789abcdef',NULL,
  '88e260bd-9d8c-459c-83c8-13a3f368bf2b','2099-01-01 00:00:00+00:00',NULL,'','2026-05-01 11:00:00+00:00'),
 ('22222222-3333-4444-8555-666666666666','Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF','eve@example.com',
  'cli','2099-01-01 00:00:00+00:00',NULL,'','2026-05-01 11:00:00+00:00'),
 ('33333333-4444-4555-8666-777777777777','fedcba9876543210fedcba9876543210',NULL,
  '88e260bd-9d8c-459c-83c8-13a3f368bf2b','2099-01-01 00:00:00+00:00','2026-05-02 11:00:00+00:00',
  'f9f158f2-caaa-4e6d-8da8-99f3b62637b1','2026-05-01 11:00:00+00:00');
INSERT INTO user_preferences (user_id,preferences_json,updated_at) VALUES
 ('88e260bd-9d8c-459c-83c8-13a3f368bf2b','{"audio":{"noiseSuppression":true}}','2026-05-01 11:00:00+00:00');
INSERT INTO system_settings (id,registration_enabled,token_registration_only,server_name,guest_login_enabled,
  max_participants_limit,max_rooms_per_user) VALUES (1,TRUE,TRUE,'Example Meet',FALSE,0,7);
