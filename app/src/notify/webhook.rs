//! A webhook delivery: the JSON body POSTed as is, signed with
//! HMAC-SHA256 over its exact bytes under the channel's key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header a receiver checks: `sha256=` and the hex digest.
pub const SIGNATURE_HEADER: &str = "X-Tidemark-Signature";
pub const EVENT_HEADER: &str = "X-Tidemark-Event";
pub const DELIVERY_HEADER: &str = "X-Tidemark-Delivery";

/// `sha256=<hex>` of the body under `key`.
pub fn signature(key: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts `body`; Ok on a 2xx answer. The error names what went wrong
/// without the URL (a chat service's hook URL is itself a secret).
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    event: &str,
    delivery_id: i64,
    body: &str,
) -> Result<(), String> {
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::USER_AGENT,
            concat!("Tidemark/", env!("CARGO_PKG_VERSION")),
        )
        .header(EVENT_HEADER, event)
        .header(DELIVERY_HEADER, delivery_id.to_string());
    if let Some(key) = key {
        request = request.header(SIGNATURE_HEADER, signature(key, body.as_bytes()));
    }
    let response = request
        .body(body.to_owned())
        .send()
        .await
        .map_err(|err| describe(err.without_url()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered {status}"))
    }
}

fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        "no answer within the time limit".into()
    } else if err.is_connect() {
        format!("cannot connect: {}", root_cause(&err))
    } else {
        root_cause(&err)
    }
}

/// The innermost cause ("Connection refused"), which says the most.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
