-- Bedrud's SQLite schema (the newer variant), as GORM creates it: the DDL of
-- ../shared/reference/bedrud-schema.md §5, plus the invite, preference and revoked-token tables.
CREATE TABLE users (
  id varchar(36),email varchar(255) NOT NULL,name varchar(255) NOT NULL,provider varchar(20) DEFAULT "local",
  avatar_url varchar(255),password varchar(255),refresh_token text,accesses text,
  is_active numeric NOT NULL DEFAULT true,email_verified_at datetime,password_changed_at datetime,
  created_at datetime NOT NULL,updated_at datetime NOT NULL,PRIMARY KEY (id));
CREATE UNIQUE INDEX idx_email_provider ON users(email,provider);
CREATE INDEX idx_users_email_verified_at ON users(email_verified_at);
CREATE TABLE rooms (
  id varchar(36),name varchar(255) NOT NULL,created_by varchar(36) NOT NULL,
  is_active numeric NOT NULL DEFAULT true,max_participants integer NOT NULL DEFAULT 20,
  created_at datetime NOT NULL,updated_at datetime NOT NULL,expires_at datetime,admin_id varchar(36) NOT NULL,
  is_public numeric NOT NULL DEFAULT false,settings_allow_chat numeric NOT NULL DEFAULT true,
  settings_allow_video numeric NOT NULL DEFAULT true,settings_allow_audio numeric NOT NULL DEFAULT true,
  settings_require_approval numeric NOT NULL DEFAULT false,settings_e2_ee numeric NOT NULL DEFAULT false,
  settings_is_persistent numeric NOT NULL DEFAULT false,
  settings_recordings_allowed numeric NOT NULL DEFAULT false,mode varchar(20) NOT NULL DEFAULT "standard",
  last_activity_at datetime,deleted_at datetime,PRIMARY KEY (id));
CREATE INDEX idx_rooms_deleted_at ON rooms(deleted_at);
CREATE INDEX idx_rooms_expires_at ON rooms(expires_at);
CREATE INDEX idx_rooms_last_activity_at ON rooms(last_activity_at);
CREATE INDEX idx_rooms_name ON rooms(name);
CREATE UNIQUE INDEX idx_rooms_active_name ON rooms(name) WHERE is_active = 1;
CREATE TABLE room_participants (
  id varchar(36),room_id varchar(36) NOT NULL,user_id varchar(36) NOT NULL,joined_at datetime NOT NULL,
  left_at datetime,is_active numeric NOT NULL DEFAULT true,is_approved numeric NOT NULL DEFAULT false,
  is_muted numeric NOT NULL DEFAULT false,is_video_off numeric NOT NULL DEFAULT false,
  is_chat_blocked numeric NOT NULL DEFAULT false,is_banned numeric NOT NULL DEFAULT false,
  is_on_stage numeric NOT NULL DEFAULT false,is_moderator numeric NOT NULL DEFAULT false,PRIMARY KEY (id));
CREATE UNIQUE INDEX idx_room_user ON room_participants(room_id,user_id);
CREATE TABLE passkeys (
  id varchar(36),user_id varchar(36) NOT NULL,credential_id blob NOT NULL,public_key blob NOT NULL,
  algorithm integer NOT NULL DEFAULT 0,counter integer NOT NULL DEFAULT 0,name varchar(255),
  created_at datetime NOT NULL,PRIMARY KEY (id));
CREATE UNIQUE INDEX idx_passkeys_credential_id ON passkeys(credential_id);
CREATE INDEX idx_passkeys_user_id ON passkeys(user_id);
CREATE TABLE system_settings (
  id integer PRIMARY KEY AUTOINCREMENT,registration_enabled numeric NOT NULL DEFAULT true,
  token_registration_only numeric NOT NULL DEFAULT false,passkeys_enabled numeric NOT NULL DEFAULT true,
  google_client_id text,google_client_secret text,google_redirect_url text,github_client_id text,
  github_client_secret text,github_redirect_url text,twitter_client_id text,twitter_client_secret text,
  twitter_redirect_url text,jwt_secret text,token_duration integer DEFAULT 24,session_secret text,
  frontend_url text,server_port text,server_host text,server_domain text,server_enable_tls numeric,
  server_cert_file text,server_key_file text,server_use_acme numeric,server_email text,behind_proxy numeric,
  server_name text,guest_login_enabled numeric NOT NULL DEFAULT true,live_kit_host text,live_kit_api_key text,
  live_kit_api_secret text,live_kit_external numeric,cors_allowed_origins text,cors_allowed_headers text,
  cors_allowed_methods text,cors_allow_credentials numeric,cors_max_age integer,chat_upload_backend text,
  chat_upload_max_bytes integer,chat_upload_max_dimension integer,chat_upload_inline_max integer,
  chat_upload_disk_dir text,chat_upload_s3_endpoint text,chat_upload_s3_bucket text,
  chat_upload_s3_region text,chat_upload_s3_access_key text,chat_upload_s3_secret_key text,
  chat_upload_s3_public_url text,max_participants_limit integer DEFAULT 1000,
  max_rooms_per_user integer DEFAULT 100,max_upload_bytes_per_user integer DEFAULT 524288000,
  global_disk_threshold_bytes integer DEFAULT 0,chat_max_message_count integer DEFAULT 10000,
  chat_message_ttl_hours integer DEFAULT 2160,recordings_enabled numeric DEFAULT false,
  recording_max_duration_mins integer DEFAULT 60,recording_max_file_size_mb integer DEFAULT 2048,
  webxdc_gallery_enabled numeric DEFAULT false,webxdc_gallery_remote_catalog_url text,
  webxdc_gallery_source text,webxdc_gallery_allow_remote_download numeric DEFAULT false,
  webxdc_gallery_instance_catalog_enabled numeric DEFAULT false,webxdc_max_archive_mb integer DEFAULT 0,
  webxdc_max_uncompressed_mb integer DEFAULT 0,webxdc_max_single_file_mb integer DEFAULT 0,
  webxdc_max_entries integer DEFAULT 0,rn_noise_enabled numeric NOT NULL DEFAULT false,
  krisp_enabled numeric NOT NULL DEFAULT false,email_instance_name text,email_support_email text,
  email_instance_url text,email_header_bg text,email_button_bg text,email_subject_verify text,
  email_subject_welcome text,email_subject_reset text,email_subject_changed text,email_subject_invite text,
  email_preheader_verify text,email_preheader_welcome text,email_preheader_reset text,
  email_preheader_changed text,email_preheader_invite text,email_smtp_host text,
  email_smtp_port integer DEFAULT 0,email_username text,email_password text,email_from_address text,
  email_from_name text,email_tls_skip_verify numeric,email_smtp_s_mode numeric,log_level text,
  updated_at datetime);
CREATE TABLE invite_tokens (id varchar(36),token varchar(64) NOT NULL,email varchar(255),
  created_by varchar(36) NOT NULL,expires_at datetime,used_at datetime,used_by varchar(36),created_at datetime,
  PRIMARY KEY (id));
CREATE UNIQUE INDEX idx_invite_tokens_token ON invite_tokens(token);
CREATE TABLE user_preferences (user_id varchar(36),preferences_json text NOT NULL DEFAULT "{}",updated_at datetime,
  PRIMARY KEY (user_id));
CREATE TABLE blocked_refresh_tokens (id varchar(36),token text NOT NULL,user_id varchar(36) NOT NULL,
  expires_at datetime NOT NULL,created_at datetime NOT NULL,PRIMARY KEY (id));
CREATE TABLE recordings (id varchar(36),room_id varchar(36) NOT NULL,room_name varchar(255) NOT NULL,
  egress_id varchar(255),file_url text,file_size integer DEFAULT 0,recording_type varchar(20),
  duration_ms integer DEFAULT 0,status varchar(20) NOT NULL DEFAULT "pending",error text,
  created_by varchar(36) NOT NULL,started_at datetime,completed_at datetime,created_at datetime,
  updated_at datetime,PRIMARY KEY (id));
CREATE UNIQUE INDEX idx_recordings_egress_id ON recordings(egress_id);
