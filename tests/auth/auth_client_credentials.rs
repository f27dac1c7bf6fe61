//! Client-credentials flow against a local token endpoint: form fields, expiry parsing,
//! signed certificate assertions, OAuth errors, transport and decode failures, and secrets
//! never reaching Debug/Display/errors.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use exchange_activesync::auth::{
    ClientCertificate, ClientCredential, ClientCredentials, JWT_BEARER_ASSERTION_TYPE, ManualClock,
    TokenProvider, TokenRequest,
};
use exchange_activesync::{AuthError, Environment};
use secrecy::ExposeSecret;
use sha1::Digest as _;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const CLIENT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SECRET: &str = "Xy7~s3cr3t.Value_with+special&chars=";
const SCOPE: &str = "https://outlook.office365.com/.default";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_750_000_000, 0).unwrap()
}

fn secret_provider(server: &MockServer, clock: Arc<ManualClock>) -> ClientCredentials {
    ClientCredentials::with_secret(&Environment::Commercial, TENANT, CLIENT_ID, SECRET)
        .unwrap()
        .with_authority(&Url::parse(&server.uri()).unwrap())
        .unwrap()
        .with_clock(clock)
}

fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

async fn form_of_single_request(server: &MockServer) -> HashMap<String, String> {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&requests[0].body)
        .into_owned()
        .collect();
    let map: HashMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(map.len(), pairs.len(), "duplicate form fields: {pairs:?}");
    map
}

#[tokio::test]
async fn client_secret_flow() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": "eyJ.app-token.sig"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let clock = Arc::new(ManualClock::new(start()));
    let provider = secret_provider(&server, clock.clone());
    assert_eq!(
        provider.token_url().as_str(),
        format!("{}{}", server.uri(), token_path())
    );

    let token = provider.token(&TokenRequest::new(SCOPE)).await.unwrap();
    assert_eq!(token.secret().expose_secret(), "eyJ.app-token.sig");
    assert_eq!(token.expires_at(), Some(start() + Duration::seconds(3599)));

    let form = form_of_single_request(&server).await;
    let expected: HashMap<String, String> = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("scope", SCOPE),
        ("client_secret", SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(form, expected);
}

#[tokio::test]
async fn expires_in_as_string_claims_and_caching() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "bearer", "expires_in": "3600", "access_token": "tok"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let clock = Arc::new(ManualClock::new(start()));
    let cached = secret_provider(&server, clock.clone()).cached();
    let req = TokenRequest::new(SCOPE);
    let t = cached.token(&req).await.unwrap();
    assert_eq!(t.expires_at(), Some(start() + Duration::hours(1)));
    cached.token(&req).await.unwrap();
    // The cache shares the provider's clock: 4 minutes before expiry it refreshes.
    clock.advance(Duration::minutes(56));
    cached.token(&req).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);

    // A claims challenge is forwarded.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 60, "access_token": "tok"
        })))
        .mount(&server)
        .await;
    let p = secret_provider(&server, clock);
    p.token(&TokenRequest::new(SCOPE).claims(Some(
        r#"{"access_token":{"nbf":{"essential":true}}}"#.into(),
    )))
    .await
    .unwrap();
    let form = form_of_single_request(&server).await;
    assert_eq!(
        form.get("claims").map(String::as_str),
        Some(r#"{"access_token":{"nbf":{"essential":true}}}"#)
    );
}

// --- certificate flow -------------------------------------------------------------------

/// Read one DER TLV: (tag, content, rest).
fn tlv(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = data[0];
    let (len, header) = match data[1] {
        n if n < 0x80 => (n as usize, 2),
        n => {
            let count = (n & 0x7f) as usize;
            let len = data[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, 2 + count)
        }
    };
    (tag, &data[header..header + len], &data[header + len..])
}

/// The RSA modulus and exponent of a certificate's SubjectPublicKeyInfo.
fn rsa_public_key_of(cert_der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, cert, _) = tlv(cert_der);
    let (_, mut tbs, _) = tlv(cert);
    if tbs[0] == 0xA0 {
        tbs = tlv(tbs).2; // version
    }
    // serial, signature algorithm, issuer, validity, subject
    for _ in 0..5 {
        tbs = tlv(tbs).2;
    }
    let (_, spki, _) = tlv(tbs);
    let (_, _alg, rest) = tlv(spki);
    let (tag, bits, _) = tlv(rest);
    assert_eq!(tag, 0x03);
    let (_, rsa, _) = tlv(&bits[1..]);
    let (_, n, rest) = tlv(rsa);
    let (_, e, _) = tlv(rest);
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|b| **b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    (strip(n), strip(e))
}

fn cert_der() -> Vec<u8> {
    pem::parse(fixture("cert.pem")).unwrap().contents().to_vec()
}

#[derive(Debug, serde::Deserialize)]
struct AssertionClaims {
    aud: String,
    iss: String,
    sub: String,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

async fn certificate_round_trip(certificate: ClientCertificate) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(token_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ.cert-token.sig"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let provider = ClientCredentials::with_certificate(
        &Environment::Commercial,
        TENANT,
        CLIENT_ID,
        certificate,
    )
    .unwrap()
    .with_authority(&Url::parse(&server.uri()).unwrap())
    .unwrap();
    let token_url = provider.token_url().to_string();
    let before = Utc::now().timestamp();
    let token = provider.token(&TokenRequest::new(SCOPE)).await.unwrap();
    assert_eq!(token.secret().expose_secret(), "eyJ.cert-token.sig");

    let form = form_of_single_request(&server).await;
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["scope"], SCOPE);
    assert_eq!(form["client_assertion_type"], JWT_BEARER_ASSERTION_TYPE);
    assert!(!form.contains_key("client_secret"));
    assert_eq!(form.len(), 5);
    let assertion = &form["client_assertion"];

    // Header: RS256 and x5t = base64url(SHA-1(certificate DER)).
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let x5t =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(cert_der()));
    assert_eq!(header.x5t.as_deref(), Some(x5t.as_str()));
    // ... and x5t#S256 = base64url(SHA-256(certificate DER)).
    let x5t_s256 =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der()));
    assert_eq!(header.x5t_s256.as_deref(), Some(x5t_s256.as_str()));
    let raw_header = assertion.split('.').next().unwrap();
    let raw_header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw_header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw_header["x5t#S256"], x5t_s256.as_str());
    assert_eq!(raw_header["x5t"], x5t.as_str());

    // Signature verified with the certificate's public key.
    let (n, e) = rsa_public_key_of(&cert_der());
    let key = jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&token_url]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).unwrap();
    let c = data.claims;
    assert_eq!(c.aud, token_url);
    assert_eq!(c.iss, CLIENT_ID);
    assert_eq!(c.sub, CLIENT_ID);
    assert!(uuid::Uuid::parse_str(&c.jti).is_ok());
    assert!(c.iat >= before && c.iat <= Utc::now().timestamp());
    assert_eq!(c.nbf, c.iat);
    assert_eq!(c.exp, c.iat + 600);

    // Tampered assertions fail verification (the check above is meaningful).
    let mut parts: Vec<&str> = assertion.split('.').collect();
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        serde_json::json!({"aud": token_url, "iss": "someone-else", "sub": "x", "exp": c.exp, "nbf": c.nbf}).to_string(),
    );
    parts[1] = &forged;
    assert!(jsonwebtoken::decode::<serde_json::Value>(parts.join("."), &key, &validation).is_err());
}

#[tokio::test]
async fn certificate_flow_combined_pkcs8_file() {
    let cert = ClientCertificate::from_pem_file(format!("{FIXTURES}/combined.pem")).unwrap();
    assert_eq!(
        cert.thumbprint(),
        "ECCC3F4D46EA17FF3C3565E0311546845FBD7454"
    );
    certificate_round_trip(cert).await;
}

#[tokio::test]
async fn certificate_flow_separate_pkcs1_key_file() {
    let cert = ClientCertificate::from_pem_files(
        format!("{FIXTURES}/cert.pem"),
        format!("{FIXTURES}/key-pkcs1.pem"),
    )
    .unwrap();
    assert_eq!(
        cert.thumbprint(),
        "ECCC3F4D46EA17FF3C3565E0311546845FBD7454"
    );
    certificate_round_trip(cert).await;
}

#[test]
fn certificate_loading_errors_are_clear_and_quote_no_key_material() {
    let key = fixture("key-pkcs8.pem");
    let cert = fixture("cert.pem");
    let err = ClientCertificate::from_pem(&key).unwrap_err();
    assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
    let err = ClientCertificate::from_pem(&cert).unwrap_err();
    assert!(err.to_string().contains("no private key"), "{err}");
    let err = ClientCertificate::from_pem("").unwrap_err();
    assert!(err.to_string().contains("PFX"), "{err}");
    let err = ClientCertificate::from_pem_file(format!("{FIXTURES}/missing.pem")).unwrap_err();
    assert!(matches!(err, AuthError::InvalidCredential(_)));

    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nTUlJQ1NFQ1JFVEtFWU1BVEVSSUFM\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let err = ClientCertificate::from_pem_parts(&cert, encrypted).unwrap_err();
    assert!(err.to_string().contains("encrypted"), "{err}");

    let bogus =
        "-----BEGIN PRIVATE KEY-----\nTUlJQ1NFQ1JFVEtFWU1BVEVSSUFM\n-----END PRIVATE KEY-----\n";
    let err = ClientCertificate::from_pem_parts(&cert, bogus).unwrap_err();
    let rendered = format!("{err} {err:?}");
    assert!(
        !rendered.contains("TUlJQ1NFQ1JFVEtFWU1BVEVSSUFM"),
        "{rendered}"
    );
    assert!(rendered.contains("RSA"), "{rendered}");
}

// --- errors -------------------------------------------------------------------------------

#[tokio::test]
async fn oauth_error_becomes_rejected_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: Invalid client secret provided. Got '{SECRET}'."),
            "error_codes": [7000215]
        })))
        .mount(&server)
        .await;
    let p = secret_provider(&server, Arc::new(ManualClock::new(start())));
    let err = p.token(&TokenRequest::new(SCOPE)).await.unwrap_err();
    match &err {
        AuthError::Rejected {
            status,
            error,
            description,
        } => {
            assert_eq!(*status, 401);
            assert_eq!(error, "invalid_client");
            assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let rendered = format!("{err} {err:?}");
    assert!(rendered.contains("invalid_client"));
    assert!(!rendered.contains(SECRET), "{rendered}");
    let wrapped = exchange_activesync::Error::from(err);
    assert!(!format!("{wrapped} {wrapped:?}").contains(SECRET));
}

#[tokio::test]
async fn bad_bodies_become_decode_errors() {
    let cases = [
        ResponseTemplate::new(200).set_body_string("<html>sign in</html>"),
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"token_type": "Bearer"})),
        ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "t", "token_type": "Bearer", "expires_in": "soon"}),
        ),
        ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "t", "token_type": "pop", "expires_in": 1}),
        ),
        ResponseTemplate::new(502).set_body_string("Bad Gateway"),
        ResponseTemplate::new(302).insert_header("location", "https://evil.example/"),
    ];
    for (i, response) in cases.into_iter().enumerate() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&server)
            .await;
        let p = secret_provider(&server, Arc::new(ManualClock::new(start())));
        let err = p.token(&TokenRequest::new(SCOPE)).await.unwrap_err();
        assert!(matches!(err, AuthError::Decode(_)), "case {i}: {err:?}");
        assert!(!format!("{err} {err:?}").contains(SECRET));
    }
}

#[tokio::test]
async fn unreachable_endpoint_is_a_transport_error_without_the_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = ClientCredentials::with_secret(&Environment::Commercial, TENANT, CLIENT_ID, SECRET)
        .unwrap()
        .with_authority(&Url::parse(&format!("http://127.0.0.1:{port}")).unwrap())
        .unwrap();
    let err = p.token(&TokenRequest::new(SCOPE)).await.unwrap_err();
    assert!(matches!(err, AuthError::Transport(_)), "{err:?}");
    let rendered = format!("{err} {err:?}");
    assert!(!rendered.contains(TENANT), "{rendered}");
    assert!(!rendered.contains(SECRET));
}

#[test]
fn plain_http_authority_refused_unless_loopback() {
    let base = || {
        ClientCredentials::with_secret(&Environment::Commercial, TENANT, CLIENT_ID, SECRET).unwrap()
    };
    for bad in [
        "http://login.microsoftonline.com",
        "http://10.0.0.5:8080",
        "ftp://127.0.0.1",
        "http://localhost:3",
    ] {
        let err = base()
            .with_authority(&Url::parse(bad).unwrap())
            .unwrap_err();
        assert!(
            matches!(err, AuthError::InvalidCredential(_)),
            "{bad}: {err:?}"
        );
    }
    for good in [
        "https://login.example",
        "http://127.0.0.1:1",
        "http://[::1]:2",
    ] {
        assert!(
            base().with_authority(&Url::parse(good).unwrap()).is_ok(),
            "{good}"
        );
    }
    // Custom environments are checked the same way.
    let env = Environment::Custom {
        base_url: Url::parse("https://outlook.office365.com").unwrap(),
        scope: SCOPE.into(),
        authority: Url::parse("http://login.example").unwrap(),
    };
    assert!(ClientCredentials::with_secret(&env, TENANT, CLIENT_ID, SECRET).is_err());
    // Bad tenants and empty credentials are refused too.
    assert!(
        ClientCredentials::with_secret(&Environment::Commercial, "a/b", CLIENT_ID, SECRET).is_err()
    );
    assert!(ClientCredentials::with_secret(&Environment::Commercial, TENANT, "", SECRET).is_err());
    assert!(
        ClientCredentials::with_secret(&Environment::Commercial, TENANT, CLIENT_ID, "").is_err()
    );
    let gcc =
        ClientCredentials::with_secret(&Environment::GccHigh, TENANT, CLIENT_ID, SECRET).unwrap();
    assert_eq!(
        gcc.token_url().as_str(),
        format!("https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/token")
    );
}

// --- redaction ------------------------------------------------------------------------------

/// Base64 lines of the fixture private keys: none may appear anywhere.
fn key_material() -> Vec<String> {
    ["key-pkcs8.pem", "key-pkcs1.pem"]
        .iter()
        .flat_map(|f| {
            fixture(f)
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_clean(rendered: &str) {
    assert!(!rendered.contains(SECRET), "secret leaked: {rendered}");
    for line in key_material() {
        assert!(!rendered.contains(&line), "key material leaked: {rendered}");
    }
}

#[tokio::test]
async fn no_secret_in_debug_display_or_errors_for_any_credential_type() {
    let cert = ClientCertificate::from_pem_file(format!("{FIXTURES}/combined.pem")).unwrap();
    let pkcs1 =
        ClientCertificate::from_pem_parts(&fixture("cert.pem"), &fixture("key-pkcs1.pem")).unwrap();
    let secret_cc =
        ClientCredentials::with_secret(&Environment::Commercial, TENANT, CLIENT_ID, SECRET)
            .unwrap();
    let cert_cc = ClientCredentials::with_certificate(
        &Environment::Commercial,
        TENANT,
        CLIENT_ID,
        cert.clone(),
    )
    .unwrap();
    let renders = vec![
        format!("{cert:?}"),
        format!("{pkcs1:?}"),
        format!("{secret_cc:?}"),
        format!("{cert_cc:?}"),
        format!("{:?}", secret_cc.clone().cached()),
        format!("{:?}", cert_cc.clone().cached()),
        format!("{:?}", ClientCredential::Secret(SECRET.into())),
        format!("{:?}", ClientCredential::Certificate(cert.clone())),
    ];
    for r in &renders {
        assert_clean(r);
    }
    assert!(renders[0].contains("ECCC3F4D46EA17FF3C3565E0311546845FBD7454"));
    assert!(renders[2].contains("[redacted]") && renders[2].contains(CLIENT_ID));

    // Errors of both credential types, from a server that echoes the whole request body.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|req: &wiremock::Request| {
            let body = String::from_utf8_lossy(&req.body).to_string();
            let decoded: String = url::form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| format!("{k}={v} "))
                .collect();
            let decoded = format!("{decoded} raw: {body}");
            ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "invalid_request", "error_description": decoded
            }))
        })
        .mount(&server)
        .await;
    let authority = Url::parse(&server.uri()).unwrap();
    for cc in [secret_cc, cert_cc] {
        let cached = cc.with_authority(&authority).unwrap().cached();
        let err = cached.token(&TokenRequest::new(SCOPE)).await.unwrap_err();
        assert!(matches!(err, AuthError::Rejected { .. }));
        let rendered = format!("{err} {err:?} {cached:?}");
        assert_clean(&rendered);
        // The echoed description is kept, but the assertion (a JWT, `eyJ...`) is not.
        assert!(
            rendered.contains("grant_type=client_credentials"),
            "{rendered}"
        );
        assert!(!rendered.contains("eyJ"), "assertion leaked: {rendered}");
    }
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused_at_load() {
    let cert = format!("{FIXTURES}/cert.pem");
    let other = format!("{FIXTURES}/other-key-pkcs8.pem");
    let err = ClientCertificate::from_pem_files(&cert, &other).unwrap_err();
    let thumbprint = ClientCertificate::from_pem_file(format!("{FIXTURES}/combined.pem"))
        .unwrap()
        .thumbprint();
    assert!(
        matches!(&err, AuthError::CertificateKeyMismatch { thumbprint: t } if *t == thumbprint),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not match"), "{err}");
    assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
    let err = ClientCertificate::from_pem(&format!(
        "{}{}",
        fixture("cert.pem"),
        fixture("other-key-pkcs8.pem")
    ))
    .unwrap_err();
    assert!(
        matches!(err, AuthError::CertificateKeyMismatch { .. }),
        "{err:?}"
    );
    // The matching keys, PKCS#8 and PKCS#1, still load.
    for key in ["key-pkcs8.pem", "key-pkcs1.pem"] {
        assert!(
            ClientCertificate::from_pem_files(&cert, format!("{FIXTURES}/{key}")).is_ok(),
            "{key}"
        );
    }
}
