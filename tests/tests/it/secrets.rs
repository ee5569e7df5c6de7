//! Secrets Manager on moto: what a Lambda reads once at init (`SECRETS_ARN`).

use aws_sdk_secretsmanager::primitives::Blob;
use bedrud_shared::config::Config;
use bedrud_shared::secrets::{client_from_env, fetch};
use bedrud_tests::unique;

#[tokio::test]
async fn a_lambda_reads_its_secrets_once_and_refuses_what_it_cannot_use() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let client = client_from_env().unwrap();
    let arn = client
        .create_secret()
        .name(unique("bedrud/secrets"))
        .secret_string(
            r#"{"jwtSecret": "a-jwt-secret-of-at-least-thirty-two-bytes", "livekitApiKey": "APIkey", "livekitApiSecret": "a-livekit-secret-of-at-least-32-characters"}"#,
        )
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let mut config = Config::default();
    config.livekit.api_key = Some("from-the-environment".into());
    fetch(&client, &arn).await.unwrap().apply(&mut config);
    assert_eq!(
        config.auth.jwt_secret,
        Some("a-jwt-secret-of-at-least-thirty-two-bytes".into())
    );
    assert_eq!(config.livekit.api_key.as_deref(), Some("APIkey"));
    assert_eq!(
        config.livekit.api_secret,
        Some("a-livekit-secret-of-at-least-32-characters".into())
    );
    config.validate().unwrap();

    // A rotated value is what the next instance reads.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"jwtSecret": "rotated-jwt-secret-of-thirty-two-bytes!"}"#)
        .send()
        .await
        .unwrap();
    let mut config = Config::default();
    fetch(&client, &arn).await.unwrap().apply(&mut config);
    assert_eq!(
        config.auth.jwt_secret,
        Some("rotated-jwt-secret-of-thirty-two-bytes!".into())
    );

    // Unknown secret, a typo in a field, binary data: each names SECRETS_ARN and the fix.
    let e = fetch(&client, &format!("{arn}-missing")).await.unwrap_err();
    assert_eq!(e.key, "SECRETS_ARN");
    assert!(e.problem.contains("cannot read"), "{e}");
    let typo = client
        .create_secret()
        .name(unique("bedrud/typo"))
        .secret_string(r#"{"jwt_secret": "x"}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let e = fetch(&client, &typo).await.unwrap_err();
    assert!(e.problem.contains("jwt_secret"), "{e}");
    let binary = client
        .create_secret()
        .name(unique("bedrud/binary"))
        .secret_binary(Blob::new(b"\x00\x01".to_vec()))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let e = fetch(&client, &binary).await.unwrap_err();
    assert!(e.problem.contains("binary"), "{e}");
}
