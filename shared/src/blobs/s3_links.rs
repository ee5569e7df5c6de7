//! Download links for the recordings bucket: a GET signed with SigV4 in the query string
//! (what the SDK's presigner produces), by AWS's own signer. The API function that lists
//! recordings needs nothing else from S3, and linking the S3 client for it would cost the
//! function about a megabyte (its checksum tables alone are 700 KB).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{BlobKey, BlobLinks};
use crate::config::ConfigError;
use crate::error::{StoreError, StoreResult};

/// Signs links to one bucket with the process's credentials and region.
pub struct S3Links {
    bucket: String,
    region: String,
    /// `AWS_ENDPOINT_URL` (emulators): path-style links under it; else virtual-hosted AWS.
    endpoint: Option<String>,
    credentials: Credentials,
}

impl S3Links {
    pub fn new(
        bucket: &str,
        region: &str,
        endpoint: Option<&str>,
        credentials: Credentials,
    ) -> Self {
        Self {
            bucket: bucket.into(),
            region: region.into(),
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
            credentials,
        }
    }

    /// From the environment's S3 settings (see `crate::aws`).
    pub fn from_env(bucket: &str) -> Result<Self, ConfigError> {
        let sdk = crate::aws::sdk_config(crate::aws::Service::S3)?;
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        let credentials = crate::aws::credentials()?.clone();
        Ok(Self::new(bucket, &region, sdk.endpoint_url(), credentials))
    }

    /// The link as signed at `now` (tests pin the clock).
    pub fn url_at(&self, key: &BlobKey, ttl: Duration, now: SystemTime) -> StoreResult<String> {
        // Keys are `[A-Za-z0-9._-]` segments: nothing to escape.
        let url = match &self.endpoint {
            Some(e) => format!("{e}/{}/{key}", self.bucket),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{key}",
                self.bucket, self.region
            ),
        };
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        // S3 signs the path as sent: no normalisation, no double encoding.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| StoreError::Other(format!("signing a download link: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "GET",
            &url,
            std::iter::empty(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| StoreError::Other(format!("signing a download link: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| StoreError::Other(format!("signing a download link: {e}")))?
            .into_parts();
        let query: Vec<String> = instructions
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        Ok(format!("{url}?{}", query.join("&")))
    }
}

impl BlobLinks for S3Links {
    fn presigned_get(&self, key: &BlobKey, ttl: Duration) -> StoreResult<String> {
        self.url_at(key, ttl, SystemTime::now())
    }
}

/// RFC 3986 unreserved characters stay, everything else is escaped: SigV4's canonical form.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(v: &str) -> String {
    utf8_percent_encode(v, QUERY_VALUE).to_string()
}
