//! The `simulator` example as a separate process, used the way another tool would use it:
//! only through the `EXO_*` values it prints.
//!
//! The binary is the one `cargo test` builds next to the tests
//! (`$CARGO_TARGET_DIR/debug/examples/simulator`, default target dir `target/`).

use exchange_activesync::ExchangeClientExt;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exchange_activesync::auth::{StaticToken, TokenClaims};
use exchange_activesync::cmdlets::GetMobileDevice;
use exchange_activesync::{Environment, HttpExchangeClient};

use crate::support::process::{Scratch, example};

/// The running example; killed (and reaped) on drop, whatever happened in the test.
struct Running {
    child: Child,
    stderr: PathBuf,
}

impl Running {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Exo {
    endpoint: String,
    tenant_id: String,
    token: String,
    /// The raw lines.
    lines: String,
}

impl Exo {
    fn value(&self, name: &str) -> Option<String> {
        self.lines
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    }
}

fn start(scratch: &Scratch, args: &[&str]) -> (Running, Exo) {
    let ready = scratch.0.join("ready.env");
    let stdout = scratch.0.join("stdout.txt");
    let stderr = scratch.0.join("stderr.txt");
    let child = Command::new(example("simulator"))
        .args(["--port", "0", "--ready-file"])
        .arg(&ready)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("start the simulator example");
    let mut running = Running { child, stderr };
    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break text;
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            panic!(
                "the simulator exited ({status}) before it was ready:\n{}",
                running.stderr()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the simulator did not write {} within 60 s:\n{}",
            ready.display(),
            running.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let value = |name: &str| {
        lines
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{name} missing from the ready file:\n{lines}"))
            .to_string()
    };
    let exo = Exo {
        endpoint: value("EXO_ENDPOINT"),
        tenant_id: value("EXO_TENANT_ID"),
        token: value("EXO_ACCESS_TOKEN"),
        lines: lines.clone(),
    };
    // stdout carries exactly the same lines: the three of a static token first, then the
    // client-credentials settings (and the tenants file when asked for).
    let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
    assert_eq!(printed, lines, "stdout and the ready file differ");
    let names: Vec<&str> = lines
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, _)| n)
        .collect();
    let mut expected = vec![
        "EXO_ENDPOINT",
        "EXO_TENANT_ID",
        "EXO_ACCESS_TOKEN",
        "EXO_AUTHORITY",
        "EXO_CLIENT_ID",
        "EXO_CLIENT_SECRET",
    ];
    if args.contains(&"--tenants-file") {
        expected.push("EXO_TENANTS_FILE");
    }
    assert_eq!(names, expected, "{lines}");
    (running, exo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enumerates_every_device_of_the_process_through_transient_faults() {
    let scratch = Scratch::new("transient");
    let (running, exo) = start(
        &scratch,
        &["--faults", "transient", "--devices", "1500", "--seed", "7"],
    );
    assert!(exo.lines.starts_with("EXO_ENDPOINT=http://127.0.0.1:"));
    let claims = TokenClaims::decode(&exo.token).expect("the printed token is a JWT");
    assert_eq!(claims.tid.as_deref(), Some(exo.tenant_id.as_str()));
    assert_eq!(claims.aud.as_deref(), Some("https://outlook.office365.com"));

    let client = HttpExchangeClient::builder()
        .environment(Environment::custom(&exo.endpoint).expect("loopback endpoint"))
        .tenant(exo.tenant_id.clone())
        .token_provider(Arc::new(StaticToken::new(exo.token.clone())))
        // Small pages: more requests, so the transient schedule (one read in 16) bites.
        .page_size(100)
        .build()
        .expect("client");

    // The first continuation of the simulator's life expires, as the service's do; the
    // client restarts the enumeration from the first page and skips rows already read.
    let listing = client
        .get_mobile_device(GetMobileDevice::new())
        .await
        .unwrap_or_else(|e| panic!("enumeration failed: {e}\n{}", running.stderr()));
    assert_eq!(listing.restarts, 1, "exactly one continuation expires");
    assert_eq!(listing.items.len(), 1500);
    assert!(!listing.truncated);
    // the first page, then the 15 pages of the restarted enumeration
    assert_eq!(listing.pages, 16);
    let guids: HashSet<_> = listing
        .items
        .iter()
        .map(|d| d.guid.expect("every device has a Guid"))
        .collect();
    assert_eq!(guids.len(), 1500, "devices lost or duplicated");

    // A client that is not the crate: a bad token is refused with a challenge.
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            exo.endpoint, exo.tenant_id
        ))
        .bearer_auth("not-the-token")
        .header("content-type", "application/json")
        .body(r#"{"CmdletInput":{"CmdletName":"Get-MobileDevice","Parameters":{}}}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 401);
    assert!(answer.headers().contains_key("www-authenticate"));
    drop(running);
}

#[test]
fn stops_on_sigterm_and_serves_the_same_tenant_for_the_same_seed() {
    let scratch = Scratch::new("seed");
    let (first, a) = start(&scratch, &["--devices", "10", "--seed", "42"]);
    drop(first);
    let scratch = Scratch::new("seed2");
    let (mut second, b) = start(&scratch, &["--devices", "10", "--seed", "42"]);
    assert_eq!(a.tenant_id, b.tenant_id);
    assert_eq!(a.token, b.token);
    #[cfg(unix)]
    {
        let pid = second.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(s) = second.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(exit.success(), "{exit}: {}", second.stderr());
        assert!(second.stderr().contains("shutting down"));
    }
    #[cfg(not(unix))]
    let _ = &mut second;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_three_tenants_lists_them_and_issues_tokens_per_tenant() {
    use exchange_activesync::AuthError;
    use exchange_activesync::auth::ClientCredentials;

    let scratch = Scratch::new("tenants");
    let tenants_file = scratch.0.join("tenants.txt");
    let tenants_arg = tenants_file.to_string_lossy().into_owned();
    let (running, exo) = start(
        &scratch,
        &[
            "--tenants",
            "3",
            "--tenants-file",
            &tenants_arg,
            "--devices",
            "12",
            "--unconsented-tenant",
            "3",
            "--seed",
            "5",
        ],
    );
    let listed = exo.value("EXO_TENANTS_FILE").expect("tenants file listed");
    assert_eq!(
        PathBuf::from(&listed),
        std::path::absolute(&tenants_file).unwrap()
    );
    let text = std::fs::read_to_string(&listed).expect("tenants file");
    assert!(text.starts_with('#'), "{text}");
    let ids: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(ids.len(), 3, "{text}");
    assert_eq!(ids[0], exo.tenant_id, "the first tenant is EXO_TENANT_ID");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3);

    let authority = url::Url::parse(&exo.value("EXO_AUTHORITY").expect("authority")).unwrap();
    let client_id = exo.value("EXO_CLIENT_ID").expect("client id");
    let secret = exo.value("EXO_CLIENT_SECRET").expect("client secret");
    let env = Environment::custom(&exo.endpoint).expect("loopback endpoint");
    let provider = |tenant: &str| {
        ClientCredentials::with_secret(&env, tenant, client_id.clone(), secret.clone())
            .and_then(|c| c.with_authority(&authority))
            .expect("provider")
    };
    let client = HttpExchangeClient::builder()
        .environment(env.clone())
        .tenant(ids[1].to_string())
        .token_provider(Arc::new(provider(ids[1]).cached()))
        .build()
        .expect("client");
    let listing = client
        .get_mobile_device(GetMobileDevice::new())
        .await
        .unwrap_or_else(|e| panic!("enumeration failed: {e}\n{}", running.stderr()));
    assert_eq!(listing.items.len(), 12);

    use exchange_activesync::auth::{TokenProvider as _, TokenRequest};
    let err = provider(ids[2])
        .token(&TokenRequest::new(""))
        .await
        .expect_err("the third tenant did not consent");
    assert!(
        matches!(err, AuthError::Rejected { status: 400, .. }),
        "{err:?}"
    );
    assert_eq!(err.aadsts_code(), Some(700016));
    drop(running);
}
