-- An S3 repository's own access key (a copy to another account or
-- provider), instead of the server's AWS environment. The key id is an
-- identifier and is shown; the secret is sealed like source passwords and
-- never shown again.
ALTER TABLE repositories ADD COLUMN s3_access_key_id TEXT;
ALTER TABLE repositories ADD COLUMN s3_secret TEXT;
