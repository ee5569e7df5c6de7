-- Bedrud's PostgreSQL schema in its earlier variant ([S] in ../shared/reference/bedrud-schema.md):
-- accesses a real text[], no verification or archive columns, room names unique.
CREATE TABLE users (
  id varchar(36) PRIMARY KEY, email varchar(255) NOT NULL, name varchar(255) NOT NULL,
  provider varchar(20) DEFAULT 'local', avatar_url varchar(255), password varchar(255),
  refresh_token text, accesses text[], is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE UNIQUE INDEX idx_email_provider ON users(email, provider);
CREATE TABLE rooms (
  id varchar(36) PRIMARY KEY, name varchar(255) NOT NULL, created_by varchar(36) NOT NULL,
  is_active boolean NOT NULL DEFAULT true, max_participants bigint NOT NULL DEFAULT 20,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, expires_at timestamptz,
  admin_id varchar(36) NOT NULL, is_public boolean NOT NULL DEFAULT false,
  settings_allow_chat boolean NOT NULL DEFAULT true, settings_allow_video boolean NOT NULL DEFAULT true,
  settings_allow_audio boolean NOT NULL DEFAULT true,
  settings_require_approval boolean NOT NULL DEFAULT false, settings_e2_ee boolean NOT NULL DEFAULT false,
  mode varchar(20) NOT NULL DEFAULT 'standard');
CREATE TABLE room_participants (
  id varchar(36) PRIMARY KEY, room_id varchar(36) NOT NULL, user_id varchar(36) NOT NULL,
  joined_at timestamptz NOT NULL, left_at timestamptz, is_active boolean NOT NULL DEFAULT true,
  is_approved boolean NOT NULL DEFAULT false, is_muted boolean NOT NULL DEFAULT false,
  is_video_off boolean NOT NULL DEFAULT false, is_chat_blocked boolean NOT NULL DEFAULT false,
  is_banned boolean NOT NULL DEFAULT false, is_on_stage boolean NOT NULL DEFAULT false,
  is_moderator boolean NOT NULL DEFAULT false);
CREATE UNIQUE INDEX idx_room_user ON room_participants(room_id, user_id);
CREATE TABLE passkeys (
  id varchar(36) PRIMARY KEY, user_id varchar(36) NOT NULL, credential_id bytea NOT NULL,
  public_key bytea NOT NULL, algorithm bigint NOT NULL DEFAULT 0, counter bigint NOT NULL DEFAULT 0,
  name varchar(255), created_at timestamptz NOT NULL);
CREATE TABLE system_settings (
  id bigserial PRIMARY KEY, registration_enabled boolean NOT NULL DEFAULT true,
  token_registration_only boolean NOT NULL DEFAULT false, passkeys_enabled boolean NOT NULL DEFAULT true,
  google_client_id text, google_client_secret text, jwt_secret text, server_name text,
  guest_login_enabled boolean NOT NULL DEFAULT true, max_participants_limit bigint DEFAULT 1000,
  max_rooms_per_user bigint DEFAULT 100, updated_at timestamptz);
CREATE TABLE invite_tokens (
  id varchar(36) PRIMARY KEY, token varchar(64) NOT NULL UNIQUE, email varchar(255),
  created_by varchar(36) NOT NULL, expires_at timestamptz, used_at timestamptz, used_by varchar(36),
  created_at timestamptz);
CREATE TABLE user_preferences (
  user_id varchar(36) PRIMARY KEY, preferences_json text NOT NULL DEFAULT '{}', updated_at timestamptz);
