//! The AWS commands (`bootstrap`, `diff`, `deploy`, `status`, `lever`, `redrive`, `destroy`) as
//! a user runs them, against moto's server through the real AWS SDK.
//!
//! - **moto with ingest's shim** (`tests/moto/ingest_moto.py`): plain moto cannot deploy the
//!   generated stacks (it skips a dozen resource types and answers 500 on their attributes);
//!   the shim models them and CloudFormation's change-set lifecycle. `scripts/test` starts it
//!   and exports `INGEST_MOTO_ENDPOINT`; without it every test fails and says how to start it.
//!   moto's state is global, so the tests take turns ([`Moto::start`] holds a lock and wipes
//!   it) and each creates the spec's hosted zone through the shim's control route.
//! - **The binary is the installed one**: each test copies a spec into a temporary folder and
//!   runs `ingest` there with test credentials and `AWS_ENDPOINT_URL` (what a user of an
//!   emulator sets), never the caller's AWS configuration.
//! - **API Gateway's `TestInvokeMethod`**, which moto lacks, is answered by [`ApiStandIn`], a
//!   small HTTP server given to the SDK as `AWS_ENDPOINT_URL_API_GATEWAY`: it forwards every
//!   other call to moto, and answers a test invoke from the method's integration as moto
//!   stored it (an AWS integration with a credentials role answers 200), or, when told to,
//!   as API Gateway answers when it may not assume the integration role. It can also stand in
//!   front of every service and record which region and service each call went to.

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::workspace_root;

/// The copy of AWS's ip-ranges.json in each project (from tests/fixtures).
const IP_RANGES: &str = "ip-ranges.json";

/// The variable that holds the shimmed moto's URL.
const ENDPOINT_VAR: &str = "INGEST_MOTO_ENDPOINT";

static MOTO_LOCK: Mutex<()> = Mutex::new(());

/// A wiped moto, held by one test until it is dropped.
struct Moto {
    endpoint: String,
    _turn: MutexGuard<'static, ()>,
}

impl Moto {
    /// Waits for this test's turn and wipes moto.
    fn start() -> Moto {
        let endpoint = match std::env::var(ENDPOINT_VAR) {
            Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
            _ => panic!(
                "{ENDPOINT_VAR} is not set: these tests deploy the generated stacks to moto with \
                 ingest's shim. Run them through `scripts/test`, or start \
                 `.tools/venv-moto/bin/python tests/moto/ingest_moto.py -H 127.0.0.1 -p 5000` \
                 and set {ENDPOINT_VAR}=http://127.0.0.1:5000"
            ),
        };
        let turn = MOTO_LOCK
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (status, body) = http(&endpoint, "POST", "/moto-api/reset", b"", &[]);
        assert_eq!(status, 200, "resetting moto at {endpoint}: {body}");
        Moto {
            endpoint,
            _turn: turn,
        }
    }

    /// Creates the public hosted zone a spec's dns stack names (the shim's control route).
    fn hosted_zone(&self, spec: &Path) {
        let plan = ingest_synth::check_spec(spec).unwrap().plan;
        let zone = plan.domain.name.split_once('.').map_or("", |(_, z)| z);
        let body = serde_json::json!({"Id": plan.domain.hosted_zone_id, "Name": zone}).to_string();
        let (status, answer) = http(
            &self.endpoint,
            "POST",
            "/moto-api/ingest/hosted-zones",
            body.as_bytes(),
            &[],
        );
        assert_eq!(
            status, 200,
            "{ENDPOINT_VAR} must be moto with ingest's shim (tests/moto/ingest_moto.py), which \
             has POST /moto-api/ingest/hosted-zones: {answer}"
        );
    }
}

/// One HTTP/1.1 exchange with `Connection: close`: the status and the body.
fn http(
    base: &str,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (u16, String) {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address)
        .unwrap_or_else(|e| panic!("cannot reach {base}: {e}; is moto running?"));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// What [`ApiStandIn`] answers to `TestInvokeMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Integration {
    /// As API Gateway does for a well-formed AWS integration: 200.
    Works,
    /// As API Gateway does when its integration role's trust policy refuses it.
    RoleRefused,
}

/// A request [`ApiStandIn`] saw: the SigV4 scope (`us-west-2/s3`) and the request line.
#[derive(Debug, Clone)]
struct Seen {
    scope: String,
    line: String,
}

/// An HTTP server in front of moto: answers `TestInvokeMethod`, forwards everything else, and
/// records every request.
struct ApiStandIn {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ApiStandIn {
    fn start(moto: &str, integration: Integration) -> ApiStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (moto, record) = (moto.to_owned(), Arc::clone(&seen));
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (moto, record) = (moto.clone(), Arc::clone(&record));
                thread::spawn(move || serve(stream, &moto, integration, &record));
            }
        });
        ApiStandIn { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A request: its line, its headers (lowercase names), its body.
type Request = (String, Vec<(String, String)>, Vec<u8>);

/// Reads one request.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((line.trim_end().to_owned(), headers, body))
}

fn serve(stream: TcpStream, moto: &str, integration: Integration, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    while let Some((line, headers, body)) = read_request(&mut reader) {
        let scope = headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .and_then(|(_, v)| v.split("Credential=").nth(1))
            .map(|credential| {
                credential
                    .split('/')
                    .skip(2)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default();
        seen.lock().unwrap().push(Seen {
            scope,
            line: line.clone(),
        });
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let authorization = headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .map_or("", |(_, v)| v.as_str());
        let answer =
            if method == "POST" && path.starts_with("/restapis/") && path.ends_with("/methods/GET")
            {
                test_invoke(moto, path, &body, authorization, integration)
            } else {
                forward(moto, &line, &headers, &body)
            };
        if writer.write_all(&answer).is_err() {
            return;
        }
    }
}

/// `TestInvokeMethod`: reads the method's integration from moto and answers as API Gateway.
fn test_invoke(
    moto: &str,
    path: &str,
    body: &[u8],
    authorization: &str,
    integration: Integration,
) -> Vec<u8> {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let route = request["pathWithQueryString"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    // GET /restapis/{api}/resources/{resource}/methods/GET is GetMethod on moto (in the
    // region the caller's signature names).
    let (status, method) = http(moto, "GET", path, b"", &[("Authorization", authorization)]);
    let method: Value = serde_json::from_str(&method).unwrap_or(Value::Null);
    let credentials = method["methodIntegration"]["credentials"]
        .as_str()
        .unwrap_or("");
    let kind = method["methodIntegration"]["type"].as_str().unwrap_or("");
    let (code, log) = match integration {
        Integration::RoleRefused => (
            500,
            format!(
                "Execution log for request test-request\nMon Dec 01 20:00:00 UTC 2026 : Execution failed due to configuration error: API Gateway does not have permission to assume the provided role {credentials}\n"
            ),
        ),
        Integration::Works if status == 200 && kind == "AWS" && !credentials.is_empty() => (
            200,
            "Execution log for request test-request\nMon Dec 01 20:00:00 UTC 2026 : Successfully completed execution\n".to_owned(),
        ),
        Integration::Works => (
            500,
            format!("Mon Dec 01 20:00:00 UTC 2026 : Execution failed: no AWS integration with a role ({status}, {kind:?})\n"),
        ),
    };
    let answer = serde_json::json!({
        "status": code,
        "body": if code == 200 { "{\"ok\": true}" } else { "{\"message\": \"Internal server error\"}" },
        "log": log,
        "headers": {},
        "latency": 3,
        "route": route,
    })
    .to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
        answer.len()
    )
    .into_bytes()
}

/// Sends a request on to moto and returns its whole answer (`Connection: close`).
fn forward(moto: &str, line: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let address = moto.trim_start_matches("http://");
    let mut upstream = TcpStream::connect(address).unwrap();
    let mut request = format!("{line}\r\n");
    for (name, value) in headers {
        if name != "connection" {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("connection: close\r\n\r\n");
    upstream.write_all(request.as_bytes()).unwrap();
    upstream.write_all(body).unwrap();
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).unwrap();
    // The client may keep its connection: make the answer's end explicit.
    let text = String::from_utf8_lossy(&answer);
    match text.find("\r\n\r\n") {
        Some(end)
            if !text[..end].to_ascii_lowercase().contains("content-length")
                && !text[..end]
                    .to_ascii_lowercase()
                    .contains("transfer-encoding") =>
        {
            let mut fixed = text[..end].as_bytes().to_vec();
            fixed.extend_from_slice(
                format!("\r\ncontent-length: {}", answer.len() - end - 4).as_bytes(),
            );
            fixed.extend_from_slice(&answer[end..]);
            fixed
        }
        _ => answer,
    }
}

/// A spec in a temporary folder and the `ingest` that deploys it.
struct Project {
    dir: tempfile::TempDir,
    spec: PathBuf,
    moto: String,
    api: String,
}

impl Project {
    /// A copy of `specs/<name>` (and its schema files) with moto as AWS and `api` as API
    /// Gateway.
    fn new(moto: &Moto, name: &str, api: &ApiStandIn) -> Project {
        let root = workspace_root();
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("ingest.yaml");
        std::fs::copy(root.join("specs").join(name), &spec).unwrap();
        let schemas = dir.path().join("schemas");
        std::fs::create_dir_all(&schemas).unwrap();
        for entry in std::fs::read_dir(root.join("specs/schemas"))
            .unwrap()
            .flatten()
        {
            std::fs::copy(entry.path(), schemas.join(entry.file_name())).unwrap();
        }
        let zip = ingest_synth::package::zip_bootstrap(b"#!/bin/sh\necho test artifact\n").unwrap();
        std::fs::write(dir.path().join("bootstrap.zip"), zip).unwrap();
        // The network is not there: the health checkers' ranges come from a copy of AWS's
        // ip-ranges.json (see `command`).
        std::fs::copy(
            root.join("tests/fixtures/ip-ranges.json"),
            dir.path().join(IP_RANGES),
        )
        .unwrap();
        Project {
            dir,
            spec,
            moto: moto.endpoint.clone(),
            api: api.url.clone(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `ingest ARGS` in the project's folder, as a user of an emulator runs it.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::cargo_bin("ingest").unwrap();
        for name in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL_S3",
        ] {
            command.env_remove(name);
        }
        // The package build shares the other tests' cache (a release build of the functions
        // crate takes minutes) and stays out of the user's cache folder.
        command
            .current_dir(self.dir.path())
            .env("INGEST_CACHE", common::cache())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", self.path("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &self.moto)
            .env("AWS_ENDPOINT_URL_API_GATEWAY", &self.api)
            .env("NO_COLOR", "1")
            .args(args);
        // deploy and diff fill the web ACLs' checker ranges from ip-ranges.json.
        if matches!(args.first(), Some(&("deploy" | "diff"))) && !args.contains(&"--help") {
            command.args(["--ip-ranges", IP_RANGES]);
        }
        command
    }

    /// Runs `ingest ARGS`: exit code, stdout, stderr. No run may panic.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.output(self.command(args))
    }

    /// Runs a command: exit code, stdout, and stderr with miette's line wrapping undone (words
    /// joined by single spaces, the frame's `│` dropped), so messages can be matched whole.
    fn output(&self, mut command: Command) -> (i32, String, String) {
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
            "ingest panicked: {stderr}"
        );
        let flat: Vec<&str> = stderr.split_whitespace().filter(|w| *w != "│").collect();
        (output.status.code().unwrap_or(-1), stdout, flat.join(" "))
    }

    /// Runs `ingest ARGS` and expects exit code `code`.
    fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let (got, stdout, stderr) = self.run(args);
        assert_eq!(
            got, code,
            "ingest {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }

    fn deploy(&self) -> String {
        self.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"])
            .0
    }

    fn status(&self) -> Value {
        let (stdout, _) = self.expect(0, &["status", "--json"]);
        serde_json::from_str(&stdout).unwrap()
    }

    /// An SDK configuration for `region` on moto (test credentials).
    fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        let credentials =
            aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .endpoint_url(&self.moto)
            .http_client(ingest_synth::cloud::http_client())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build()
    }
}

/// Publishes `value` for `region`'s switch as the lever's publisher does (`PutMetricData` in
/// the secondary region, through the SDK's CloudWatch client: RPC v2 CBOR, which the shim
/// serves).
fn publish_switch(project: &Project, region: &str, value: f64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    block_on(
        aws_sdk_cloudwatch::Client::new(&project.sdk("us-west-2"))
            .put_metric_data()
            .namespace("IngestLever")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("Drained")
                    .dimensions(dimension("Ingest", "wiw-events"))
                    .dimensions(dimension("Region", region))
                    .value(value)
                    .build(),
            )
            .send(),
    )
    .unwrap_or_else(|error| panic!("PutMetricData: {error:?}"));
}

/// Sets the switch alarm the secondary stack's `output` names to ALARM, through the SDK's
/// CloudWatch client (RPC v2 CBOR), as CloudWatch does when a 1 is in its window.
fn set_switch_alarm(project: &Project, output: &str, reason: &str) {
    let config = project.sdk("us-west-2");
    block_on(async {
        let stacks = aws_sdk_cloudformation::Client::new(&config)
            .describe_stacks()
            .stack_name("wiw-events-secondary")
            .send()
            .await
            .unwrap();
        let alarm = stacks.stacks()[0]
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(output))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("the secondary stack has no output {output}"))
            .to_owned();
        aws_sdk_cloudwatch::Client::new(&config)
            .set_alarm_state()
            .alarm_name(alarm)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason(reason)
            .send()
            .await
            .unwrap();
    });
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Starts moto and the API stand-in, copies `specs/ingest.yaml`, creates its hosted zone and
/// bootstraps: the state every deploy test starts from.
fn bootstrapped(integration: Integration) -> (Moto, ApiStandIn, Project) {
    let moto = Moto::start();
    let api = ApiStandIn::start(&moto.endpoint, integration);
    let project = Project::new(&moto, "ingest.yaml", &api);
    moto.hosted_zone(&project.spec);
    project.expect(0, &["bootstrap"]);
    (moto, api, project)
}

fn region_status<'a>(status: &'a Value, role: &str) -> &'a Value {
    status["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == role)
        .unwrap()
}

#[test]
fn bootstrap_creates_one_locked_down_bucket_per_region_and_is_idempotent() {
    let moto = Moto::start();
    let api = ApiStandIn::start(&moto.endpoint, Integration::Works);
    let project = Project::new(&moto, "ingest.yaml", &api);
    let (first, _) = project.expect(0, &["bootstrap"]);
    assert_eq!(
        first,
        "us-east-1: s3://ingest-staging-123456789012-us-east-1 created\n\
         us-west-2: s3://ingest-staging-123456789012-us-west-2 created\n"
    );
    let (second, _) = project.expect(0, &["bootstrap"]);
    assert_eq!(
        second,
        "us-east-1: s3://ingest-staging-123456789012-us-east-1 already bootstrapped (settings re-applied)\n\
         us-west-2: s3://ingest-staging-123456789012-us-west-2 already bootstrapped (settings re-applied)\n"
    );
    block_on(async {
        for region in ["us-east-1", "us-west-2"] {
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&project.sdk(region))
                    .force_path_style(true)
                    .build(),
            );
            let bucket = format!("ingest-staging-123456789012-{region}");
            // moto answers GetBucketVersioning with a root element the SDK refuses: read it raw.
            let scope = format!(
                "AWS4-HMAC-SHA256 Credential=testing/20261201/{region}/s3/aws4_request, SignedHeaders=host, Signature=0"
            );
            let (status, versioning) = http(
                &project.moto,
                "GET",
                &format!("/{bucket}?versioning"),
                b"",
                &[("Authorization", &scope)],
            );
            assert_eq!(status, 200, "{versioning}");
            assert!(
                versioning.contains("<Status>Enabled</Status>"),
                "{versioning}"
            );
            let block = s3
                .get_public_access_block()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            let block = block.public_access_block_configuration().unwrap();
            assert_eq!(
                (
                    block.block_public_acls(),
                    block.ignore_public_acls(),
                    block.block_public_policy(),
                    block.restrict_public_buckets()
                ),
                (Some(true), Some(true), Some(true), Some(true))
            );
            let encryption = s3
                .get_bucket_encryption()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            let rule = &encryption
                .server_side_encryption_configuration()
                .unwrap()
                .rules()[0];
            assert_eq!(
                rule.apply_server_side_encryption_by_default()
                    .unwrap()
                    .sse_algorithm()
                    .as_str(),
                "AES256"
            );
            let location = s3
                .get_bucket_location()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
            let expected = if region == "us-east-1" { "" } else { region };
            assert_eq!(
                location.location_constraint().map_or("", |l| l.as_str()),
                expected
            );
        }
    });
}

#[test]
fn deploy_creates_the_stacks_then_finds_no_changes_and_applies_a_weight_change() {
    let (_moto, api, project) = bootstrapped(Integration::Works);
    // diff before the first deploy shows the new stacks and creates no health token.
    let (diff, diff_err) = project.expect(3, &["diff", "--artifact", "bootstrap.zip"]);
    assert!(
        diff_err.contains("health token: would create the secret wiw-events/health-token"),
        "{diff}\n{diff_err}"
    );
    let absent = block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-east-1"));
        cloud
            .secretsmanager("us-east-1")
            .get_secret_value()
            .secret_id("wiw-events/health-token")
            .send()
            .await
            .is_err()
    });
    assert!(absent, "diff must not create the secret");
    let stdout = project.deploy();
    for stack in [
        "wiw-events-primary",
        "wiw-events-secondary",
        "wiw-events-dns",
    ] {
        assert!(stdout.contains(&format!("{stack} (")), "{stdout}");
        assert!(stdout.contains(&format!("{stack} outputs:")), "{stdout}");
    }
    assert!(stdout.contains("(us-east-1): new stack, "), "{stdout}");
    // The dns stack got the regional stacks' outputs as parameters, and the probe passed.
    let status = project.status();
    for stack in status["stacks"].as_array().unwrap() {
        assert_eq!(stack["status"], "CREATE_COMPLETE", "{stack}");
    }
    for route in [
        "probe wiw-events-primary GET /health: 200 ok",
        "probe wiw-events-secondary GET /health: 200 ok",
    ] {
        assert!(stdout.contains(route), "{route} missing:\n{stdout}");
    }
    // The drain switches are no routes any more (docs/security.md#the-lever).
    assert!(
        !stdout
            .lines()
            .any(|line| line.starts_with("probe ") && line.contains("/switch")),
        "{stdout}"
    );
    let invokes = api
        .seen()
        .iter()
        .filter(|s| s.line.starts_with("POST /restapis/"))
        .count();
    assert_eq!(invokes, 2, "one TestInvokeMethod per route");

    // What was deployed can be found again: the spec and its schema files.
    let (record, bundle) = block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-east-1"));
        ingest_synth::cloud::staging::deployed_spec(&cloud, "us-east-1", "wiw-events-primary")
            .await
            .unwrap()
            .expect("a record of the deploy")
    });
    assert_eq!(record.stack, "wiw-events-primary");
    assert!(record.artifact.is_some());
    assert_eq!(
        bundle.files.keys().collect::<Vec<_>>(),
        [
            "ingest.yaml",
            "schemas/clock.out.json",
            "schemas/timeoff.requested.yaml"
        ]
    );
    assert!(bundle.schemas.contains_key("shift.created"));

    // The health token (docs/security.md#the-health-route): deploy created one secret per
    // region of the stacks that take it, with one value; the dns stack's endpoint checks send
    // it as `?token=`, and the stacks show the parameter masked.
    let (tokens, paths, shown) = block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-east-1"));
        let mut tokens = Vec::new();
        for region in ["us-east-1", "us-west-2"] {
            let secret = cloud
                .secretsmanager(region)
                .get_secret_value()
                .secret_id("wiw-events/health-token")
                .send()
                .await
                .unwrap_or_else(|e| panic!("no health token in {region}: {e:?}"));
            tokens.push(secret.secret_string.unwrap());
        }
        let checks = cloud
            .route53("us-east-1")
            .list_health_checks()
            .send()
            .await
            .unwrap();
        let paths: Vec<String> = checks
            .health_checks
            .iter()
            .filter_map(|c| c.health_check_config.as_ref()?.resource_path.clone())
            .collect();
        let dns = cloud
            .cloudformation("us-west-2")
            .describe_stacks()
            .stack_name("wiw-events-dns")
            .send()
            .await
            .unwrap();
        let shown: Vec<String> = dns.stacks()[0]
            .parameters()
            .iter()
            .filter(|p| p.parameter_key() == Some("HealthToken"))
            .filter_map(|p| p.parameter_value().map(str::to_owned))
            .collect();
        (tokens, paths, shown)
    });
    assert_eq!(tokens[0], tokens[1], "one value in both regions");
    assert_eq!(tokens[0].len(), 43);
    assert!(tokens[0].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        paths,
        vec![format!("/v1/health?token={}", tokens[0]); 2],
        "both endpoint checks send the token"
    );
    assert_eq!(shown, ["****"], "NoEcho: DescribeStacks masks the token");
    assert!(
        !stdout.contains(&tokens[0]),
        "deploy never prints the token"
    );

    let (again, _) = project.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert_eq!(
        again
            .lines()
            .filter(|l| l.ends_with(": no changes"))
            .count(),
        4,
        "{again}"
    );
    assert!(again.ends_with("no changes\n"), "{again}");
    // A deploy never changes the token: the same value, still one per region.
    let token_after = block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-west-2"));
        cloud
            .secretsmanager("us-west-2")
            .get_secret_value()
            .secret_id("wiw-events/health-token")
            .send()
            .await
            .unwrap()
            .secret_string
            .unwrap()
    });
    assert_eq!(token_after, tokens[0]);
    project.expect(0, &["diff", "--artifact", "bootstrap.zip"]);

    // The spec's weights change: diff shows it on the dns stack (exit 3), deploy applies it.
    let spec = std::fs::read_to_string(&project.spec).unwrap();
    let spec = spec
        .replacen("weight: 95", "weight: 80", 1)
        .replacen("weight: 5", "weight: 20", 1);
    std::fs::write(&project.spec, spec).unwrap();
    let (diff, _) = project.expect(3, &["diff", "--artifact", "bootstrap.zip"]);
    assert!(!diff.contains(&tokens[0]), "{diff}");
    // The schema comparison names when the deployed spec was stored; the rest is stable.
    let stored_at = regex::Regex::new(r"\(\d{4}-\d\d-\d\dT[0-9:.]+Z\)").unwrap();
    assert!(stored_at.is_match(&diff), "{diff}");
    let diff = stored_at.replace_all(&diff, "(<stored at>)");
    insta::assert_snapshot!("diff_weights", diff);
    project.expect(0, &["deploy", "--yes", "--only", "dns"]);
    let status = project.status();
    assert_eq!(region_status(&status, "primary")["weight"], 80);
    assert_eq!(region_status(&status, "secondary")["weight"], 20);
    assert_eq!(region_status(&status, "secondary")["share_percent"], 20.0);
    project.expect(0, &["diff", "--artifact", "bootstrap.zip"]);
}

#[test]
fn drain_and_restore_flip_only_the_switch_in_the_secondary_region() {
    let (moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let before = project.status();
    assert_eq!(region_status(&before, "primary")["drained"], false);
    assert_eq!(region_status(&before, "primary")["healthy"], true);

    // Every call of the lever goes through a recorder: STS (to assume the operator role), S3
    // and CloudFormation of us-west-2 only.
    let recorder = ApiStandIn::start(&moto.endpoint, Integration::Works);
    let mut drain = project.command(&["lever", "drain", "primary"]);
    drain.env("AWS_ENDPOINT_URL", &recorder.url);
    let (code, stdout, stderr) = project.output(drain);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(
            "drained primary: s3://wiw-events-switch-123456789012-us-west-2/switch/primary is set"
        ),
        "{stdout}"
    );
    let scopes: Vec<String> = recorder.seen().into_iter().map(|s| s.scope).collect();
    assert!(!scopes.is_empty());
    for scope in &scopes {
        assert!(
            ["us-west-2/s3", "us-west-2/cloudformation", "us-west-2/sts"].contains(&scope.as_str()),
            "the lever called {scope}: {scopes:?}"
        );
    }
    assert!(
        scopes.iter().any(|s| s == "us-west-2/sts"),
        "the lever writes as the operator role: {scopes:?}"
    );
    // The bucket policy lets only the operator role write a switch: the test's own identity
    // (the account's root in moto) is refused.
    let s3 = aws_sdk_s3::Client::new(&project.sdk("us-west-2"));
    let forged = block_on(
        s3.put_object()
            .bucket("wiw-events-switch-123456789012-us-west-2")
            .key("switch/secondary")
            .body(
                br#"{"drained": true, "by": "someone", "at": "2026-12-01T00:00:00Z"}"#
                    .to_vec()
                    .into(),
            )
            .send(),
    );
    assert!(forged.is_err(), "a switch written by another principal");
    // The publisher runs on the switch's S3 notification, which moto cannot run: publish what
    // it would. moto never evaluates an alarm from its data:
    // move the primary's switch alarm as CloudWatch would on that 1.
    publish_switch(&project, "primary", 1.0);
    publish_switch(&project, "secondary", 0.0);
    set_switch_alarm(
        &project,
        "PrimarySwitchAlarmName",
        "drained by the test's 1",
    );

    let drained = project.status();
    let primary = region_status(&drained, "primary");
    assert_eq!(primary["drained"], true);
    assert_eq!(primary["drain_switch"], "drained");
    assert_eq!(
        primary["healthy"], false,
        "the shim's checkers read the switch: {primary}"
    );
    assert_eq!(region_status(&drained, "secondary")["drained"], false);
    let (table, _) = project.expect(0, &["status"]);
    // The API ids are random. CloudWatch answers through the shim's RPC v2 CBOR route: the
    // published values and alarm states are read; moto emits no Kinesis metrics, so the
    // iterator age has no data.
    let ids = regex::Regex::new(r"https://[a-z0-9]+\.execute-api").unwrap();
    let table = ids.replace_all(&table, "https://<api>.execute-api");
    let port = regex::Regex::new(r"http://127\.0\.0\.1:\d+").unwrap();
    insta::assert_snapshot!("status_drained", port.replace_all(&table, "http://<moto>"));

    let (again, _) = project.expect(0, &["lever", "drain", "primary"]);
    assert!(again.starts_with("primary is drained already"), "{again}");
    let (_, stderr) = project.expect(1, &["lever", "drain", "secondary"]);
    assert!(
        stderr.contains("refusing to drain secondary: primary is drained already"),
        "{stderr}"
    );
    assert!(stderr.contains("ingest lever restore primary"), "{stderr}");
    assert_eq!(
        region_status(&project.status(), "secondary")["drained"],
        false
    );

    project.expect(0, &["lever", "restore", "primary"]);
    publish_switch(&project, "primary", 0.0);
    let restored = project.status();
    assert_eq!(region_status(&restored, "primary")["drained"], false);
    assert_eq!(
        region_status(&restored, "primary")["drain_switch"],
        "restored"
    );
    // The drained value is still in the alarm's window: Route 53 keeps the region out until
    // it has left it (a restore takes up to the window; a drain is at once).
    assert_eq!(region_status(&restored, "primary")["healthy"], false);
    // Now the secondary may be drained.
    project.expect(0, &["lever", "drain", "secondary"]);
    assert_eq!(
        region_status(&project.status(), "secondary")["drained"],
        true
    );
}

#[test]
fn lever_weights_go_through_a_change_set_on_the_dns_stack() {
    let (_moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let (_, stderr) = project.expect(1, &["lever", "weights", "0", "0", "--yes"]);
    assert!(
        stderr.contains("weights 0 and 0 send no region any traffic"),
        "{stderr}"
    );
    let (stdout, _) = project.expect(0, &["lever", "weights", "50", "50", "--yes"]);
    assert!(
        stdout.contains("parameter PrimaryWeight: 95 -> 50"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("weights: primary 50 (50.0%), secondary 50 (50.0%)\n"),
        "{stdout}"
    );
    let status = project.status();
    assert_eq!(region_status(&status, "primary")["weight"], 50);
    let (same, _) = project.expect(0, &["lever", "weights", "50", "50", "--yes"]);
    assert_eq!(same, "wiw-events-dns: weights are 50 and 50 already\n");
    // The spec still says 95/5: diff shows that deploy would set it back.
    let (diff, _) = project.expect(3, &["diff", "--only", "dns"]);
    assert!(diff.contains("parameter PrimaryWeight: 50 -> 95"), "{diff}");
}

#[test]
fn redrive_moves_the_dead_letter_queue_back_to_the_bridge_queue() {
    let (_moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let sqs = aws_sdk_sqs::Client::new(&project.sdk("us-west-2"));
    let depth = |url: String| {
        let sqs = sqs.clone();
        block_on(async move {
            let answer = sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(
                    aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                )
                .send()
                .await
                .unwrap();
            answer.attributes().unwrap()
                [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
                .parse::<u64>()
                .unwrap()
        })
    };
    let (queue, dlq) = block_on(async {
        let url = |name: &'static str| {
            let sqs = sqs.clone();
            async move {
                sqs.get_queue_url()
                    .queue_name(name)
                    .send()
                    .await
                    .unwrap()
                    .queue_url
                    .unwrap()
            }
        };
        let dlq = url("wiw-events-spool-objects-dlq").await;
        for n in 0..3 {
            sqs.send_message()
                .queue_url(&dlq)
                .message_body(format!("{{\"Records\": [{{\"n\": {n}}}]}}"))
                .send()
                .await
                .unwrap();
        }
        (url("wiw-events-spool-objects").await, dlq)
    });
    let queued = depth(queue.clone());
    assert_eq!(depth(dlq.clone()), 3);
    let (stdout, _) = project.expect(0, &["redrive"]);
    assert_eq!(
        stdout,
        "moved 3 messages from wiw-events-spool-objects-dlq to wiw-events-spool-objects (us-west-2)\n"
    );
    assert_eq!(depth(dlq), 0);
    assert_eq!(depth(queue), queued + 3);
    let (nothing, _) = project.expect(0, &["redrive"]);
    assert!(nothing.starts_with("moved 0 messages"), "{nothing}");
}

/// A stand-in for Lambda's `Invoke`: records each call's function and payload and answers as a
/// stream function does, with a `batchItemFailures` for a payload with a `{"poison"` record.
struct LambdaStandIn {
    url: String,
    calls: Arc<Mutex<Vec<Invoked>>>,
}

/// One `Invoke` [`LambdaStandIn`] answered: the function and the payload.
type Invoked = (String, Vec<u8>);

impl LambdaStandIn {
    fn start() -> LambdaStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&calls);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let record = Arc::clone(&record);
                thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    while let Some((line, _headers, body)) = read_request(&mut reader) {
                        // POST /2015-03-31/functions/<name>/invocations
                        let function = line.split('/').nth(3).unwrap_or_default().to_owned();
                        // `{"poison"` in base64, as the record's data is.
                        let answer: &[u8] = if body.windows(12).any(|w| w == b"eyJwb2lzb24i") {
                            br#"{"batchItemFailures":[{"itemIdentifier":"2"}]}"#
                        } else {
                            br#"{"batchItemFailures":[]}"#
                        };
                        record.lock().unwrap().push((function, body));
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amz-Executed-Version: $LATEST\r\nContent-Length: {}\r\n\r\n",
                            answer.len()
                        );
                        if writer.write_all(head.as_bytes()).is_err()
                            || writer.write_all(answer).is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        LambdaStandIn { url, calls }
    }

    fn calls(&self) -> Vec<Invoked> {
        self.calls.lock().unwrap().clone()
    }
}

/// A failure record as Lambda writes it to an S3 on-failure destination (the Lambda developer
/// guide's example): the batch's metadata and, as an escaped JSON string, the invocation's
/// Kinesis event with one record per body.
fn failure_record(bodies: &[&str], with_payload: bool) -> (String, String) {
    use base64::Engine as _;
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let sequence = format!("4960118965842235937883629852182763847532018901230970472{n}");
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": format!("key-{n}"),
                    "sequenceNumber": sequence,
                    "data": base64::engine::general_purpose::STANDARD.encode(body),
                    "approximateArrivalTimestamp": 1_764_583_200.5
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{sequence}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::123456789012:role/wiw-events-validator",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/wiw-events-primary"
            })
        })
        .collect();
    let payload = serde_json::json!({ "Records": records }).to_string();
    let mut record = serde_json::json!({
        "requestContext": {
            "requestId": "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:wiw-events-validator",
            "condition": "RecordAgeExceeded",
            "approximateInvokeCount": 40
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-12-01T10:00:06.021Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": "49601189658422359378836298521827638475320189012309704720",
            "endSequenceNumber": "49601189658422359378836298521827638475320189012309704729",
            "approximateArrivalOfFirstRecord": "2026-12-01T10:00:00.500Z",
            "approximateArrivalOfLastRecord": "2026-12-01T10:00:00.500Z",
            "batchSize": bodies.len(),
            "streamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/wiw-events-primary"
        }
    });
    if with_payload {
        record["payload"] = Value::String(payload.clone());
    }
    (record.to_string(), payload)
}

#[test]
fn redrive_failed_replays_parked_batches_through_the_validator_and_keeps_what_fails() {
    let moto = Moto::start();
    let api = ApiStandIn::start(&moto.endpoint, Integration::Works);
    let project = Project::new(&moto, "ingest.yaml", &api);
    let lambda = LambdaStandIn::start();
    // The primary's failed bucket, as the regional stack names it (moto's account).
    let bucket = "wiw-events-failed-123456789012-us-east-1";
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&project.sdk("us-east-1"))
            .force_path_style(true)
            .build(),
    );
    let prefix = "aws/lambda/0c6f1f8e-uuid/shardId-000000000000/2026/12/01/";
    let (good, good_payload) = failure_record(
        &[
            r#"{"specversion":"1.0","id":"1"}"#,
            r#"{"specversion":"1.0","id":"2"}"#,
        ],
        true,
    );
    let (poison, poison_payload) = failure_record(&[r#"{"poison":1}"#], true);
    let (metadata_only, _) = failure_record(&[r#"{"id":"3"}"#], false);
    let objects = [
        (format!("{prefix}2026-12-01T10.00.06-a"), good),
        (format!("{prefix}2026-12-01T10.00.07-b"), poison),
        (format!("{prefix}2026-12-01T10.00.08-c"), metadata_only),
    ];
    let keys = |under: &str| {
        let s3 = s3.clone();
        let under = under.to_owned();
        block_on(async move {
            let page = s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(under)
                .send()
                .await
                .unwrap();
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect::<Vec<_>>()
        })
    };
    block_on(async {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        for (key, body) in &objects {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.clone().into_bytes().into())
                .send()
                .await
                .unwrap();
        }
    });
    let redrive = |extra: &[&str]| {
        let mut args = vec!["redrive", "--failed", "--region", "primary"];
        args.extend_from_slice(extra);
        let mut command = project.command(&args);
        command.env("AWS_ENDPOINT_URL_LAMBDA", &lambda.url);
        project.output(command)
    };

    // --dry-run reads every record and changes nothing.
    let (code, stdout, stderr) = redrive(&["--dry-run"]);
    assert_eq!(code, 1, "one record cannot be replayed: {stderr}");
    assert_eq!(
        stdout,
        format!(
            "would replay 2 failed batches (3 records) from {bucket} through wiw-events-validator\n"
        )
    );
    assert!(lambda.calls().is_empty(), "a dry run invokes nothing");
    assert_eq!(keys("aws/lambda/").len(), 3);

    // The replay sends each payload byte for byte to the validator; what it took moves under
    // redriven/, what it did not take stays.
    let (code, stdout, stderr) = redrive(&[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stdout,
        format!("replayed 1 failed batch (2 records) from {bucket} through wiw-events-validator\n")
    );
    let calls = lambda.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[0],
        ("wiw-events-validator".to_owned(), good_payload.into_bytes())
    );
    assert_eq!(
        calls[1],
        (
            "wiw-events-validator".to_owned(),
            poison_payload.into_bytes()
        )
    );
    assert!(
        stderr.contains(
            "-b: wiw-events-validator answered {\"batchItemFailures\":[{\"itemIdentifier\":\"2\"}]}"
        ),
        "{stderr}"
    );
    // A record without its data says where the data still is, and for how long.
    assert!(
        stderr.contains("stream/wiw-events-primary shardId-000000000000 from sequence number 49601189658422359378836298521827638475320189012309704720 to 49601189658422359378836298521827638475320189012309704729"),
        "{stderr}"
    );
    assert_eq!(
        keys("aws/lambda/"),
        [objects[1].0.clone(), objects[2].0.clone()]
    );
    assert_eq!(keys("redriven/"), [format!("redriven/{}", objects[0].0)]);

    // A second run replays only what is left.
    let (code, stdout, _) = redrive(&[]);
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("replayed 0 failed batches (0 records)"),
        "{stdout}"
    );
    assert_eq!(lambda.calls().len(), 3);
}

#[test]
fn destroy_deletes_the_stacks_and_says_what_stays() {
    let (_moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let (_, stderr) = project.expect(1, &["destroy"]);
    assert!(
        stderr.contains("standard input is not a terminal"),
        "{stderr}"
    );
    let (stdout, _) = project.expect(0, &["destroy", "--yes"]);
    let deleted: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with(": deleted"))
        .collect();
    assert_eq!(
        deleted,
        [
            "wiw-events-monitoring: deleted",
            "wiw-events-dns: deleted",
            "wiw-events-primary: deleted",
            "wiw-events-secondary: deleted"
        ]
    );
    assert!(stdout.contains("kept on purpose"), "{stdout}");
    assert!(
        stdout.contains("wiw-events-primary GoodBucket (AWS::S3::Bucket): empty it"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "aws kinesis delete-stream --stream-name wiw-events-stream --region us-west-2"
        ),
        "{stdout}"
    );
    let status = project.status();
    for stack in status["stacks"].as_array().unwrap() {
        assert_eq!(stack["status"], Value::Null, "{stack}");
    }
    let (again, _) = project.expect(0, &["destroy", "--yes"]);
    assert_eq!(
        again,
        "nothing to delete: no stack of wiw-events is deployed\n"
    );
}

#[test]
fn a_failed_stack_is_explained_with_its_reasons_and_the_way_out() {
    let moto = Moto::start();
    let api = ApiStandIn::start(&moto.endpoint, Integration::Works);
    let project = Project::new(&moto, "ingest.yaml", &api);
    // No hosted zone: the dns stack's records cannot be created.
    project.expect(0, &["bootstrap"]);
    let (_, stderr) = project.expect(1, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(
        stderr.contains("wiw-events-dns in us-west-2 ended ROLLBACK_COMPLETE"),
        "{stderr}"
    );
    assert!(
        stderr.contains("PrimaryRecordA (AWS::Route53::RecordSet): No hosted zone found with ID: Z0123456789ABCDEFGHIJ"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "aws cloudformation delete-stack --stack-name wiw-events-dns --region us-west-2"
        ),
        "{stderr}"
    );
    let (_, stderr) = project.expect(1, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(
        stderr.contains("wiw-events-dns in us-west-2 is ROLLBACK_COMPLETE"),
        "{stderr}"
    );
    assert!(stderr.contains("can only be deleted"), "{stderr}");
}

#[test]
fn the_probe_fails_a_deploy_whose_integration_role_api_gateway_cannot_assume() {
    let (_moto, _api, project) = bootstrapped(Integration::RoleRefused);
    let (stdout, stderr) = project.expect(1, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(
        stdout.contains("probe wiw-events-primary GET /health: 500 FAILED"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the stacks deployed, but 2 of the API's routes failed the probe"),
        "{stderr}"
    );
    assert!(
        stderr.contains("API Gateway does not have permission to assume the provided role"),
        "{stderr}"
    );
}

#[test]
fn errors_are_one_line_that_says_what_to_do() {
    let moto = Moto::start();
    let api = ApiStandIn::start(&moto.endpoint, Integration::Works);
    let project = Project::new(&moto, "ingest.yaml", &api);

    let mut bare = project.command(&["status"]);
    bare.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let (code, _, stderr) = project.output(bare);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("× no AWS credentials help: set AWS_ACCESS_KEY_ID"),
        "{stderr}"
    );
    assert!(
        stderr.contains("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{stderr}"
    );

    let (_, stderr) = project.expect(1, &["status", "--profile", "nope"]);
    assert!(
        stderr.contains("AWS profile `nope` is not defined in ~/.aws/config or ~/.aws/credentials"),
        "{stderr}"
    );

    let (_, stderr) = project.expect(1, &["status", "--endpoint-url", "http://127.0.0.1:9"]);
    assert!(
        stderr.contains(
            "cannot reach http://127.0.0.1:9 for cloudformation:DescribeStacks in us-east-1"
        ),
        "{stderr}"
    );

    let (_, stderr) = project.expect(1, &["deploy", "--yes", "--only", "dsn"]);
    assert!(stderr.contains("the spec has no `dsn` stack"), "{stderr}");
    assert!(
        stderr.contains("its stacks are: primary, secondary, dns, monitoring"),
        "{stderr}"
    );

    let (_, stderr) = project.expect(1, &["deploy"]);
    assert!(
        stderr.contains("cannot ask before deploying: standard input is not a terminal"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --yes"), "{stderr}");

    let (_, stderr) = project.expect(1, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(
        stderr.contains("× us-east-1 is not bootstrapped: there is no staging bucket"),
        "{stderr}"
    );
    assert!(stderr.contains("run `ingest bootstrap`"), "{stderr}");

    let (_, stderr) = project.expect(1, &["lever", "drain", "primary"]);
    assert!(
        stderr.contains("wiw-events-secondary is not deployed in us-west-2"),
        "{stderr}"
    );

    project.expect(0, &["bootstrap"]);
    let (_, stderr) = project.expect(1, &["deploy", "--yes", "--only", "dns"]);
    assert!(
        stderr.contains(
            "× wiw-events-primary is not deployed in us-east-1 help: wiw-events-dns takes its \
             outputs as parameters: deploy it first (`ingest deploy --only primary,secondary`)"
        ),
        "{stderr}"
    );
}

#[test]
fn deploy_builds_and_ships_the_real_lambda_package() {
    let moto = Moto::start();
    let api = ApiStandIn::start(&moto.endpoint, Integration::Works);
    let project = Project::new(&moto, "minimal.yaml", &api);
    moto.hosted_zone(&project.spec);
    project.expect(0, &["bootstrap"]);
    let (_, stderr) = project.expect(0, &["deploy", "--yes", "--only", "primary"]);
    let words: Vec<&str> = stderr.split(' ').collect();
    let sha = words
        .iter()
        .position(|w| *w == "sha256")
        .and_then(|at| words.get(at + 1))
        .unwrap_or_else(|| panic!("ingest package's sha256 line:\n{stderr}"));
    assert!(
        stderr.contains(&format!(
            "upload s3://ingest-staging-123456789012-us-east-2/artifacts/{sha}.zip"
        )),
        "{stderr}"
    );
    let zip = std::fs::read(project.path("dist/minimal/bootstrap.zip")).unwrap();
    assert_eq!(ingest_synth::package::sha256_hex(&zip), *sha);
    let code = block_on(async {
        let lambda_config = project.sdk("us-east-2");
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&lambda_config)
                .force_path_style(true)
                .build(),
        );
        let object = s3
            .get_object()
            .bucket("ingest-staging-123456789012-us-east-2")
            .key(format!("artifacts/{sha}.zip"))
            .send()
            .await
            .unwrap();
        object.body.collect().await.unwrap().into_bytes().to_vec()
    });
    assert_eq!(code, zip, "the staged artifact is the packaged zip");
}

#[test]
fn the_aws_commands_document_their_flags_and_exit_codes() {
    for args in [
        &["bootstrap", "--help"][..],
        &["diff", "--help"],
        &["deploy", "--help"],
        &["status", "--help"],
        &["lever", "--help"],
        &["lever", "drain", "--help"],
        &["redrive", "--help"],
        &["destroy", "--help"],
    ] {
        let output = Command::cargo_bin("ingest")
            .unwrap()
            .args(args)
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(output.status.success(), "ingest {args:?}");
        let name = args[..args.len() - 1].join("_");
        insta::assert_snapshot!(
            format!("help_{name}"),
            String::from_utf8(output.stdout).unwrap()
        );
    }
}

/// The health token's secret in `region`: the current value, or the version `stage`.
fn health_secret(project: &Project, region: &str, stage: Option<&str>) -> String {
    block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk(region));
        cloud
            .secretsmanager(region)
            .get_secret_value()
            .secret_id("wiw-events/health-token")
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
            .unwrap_or_else(|e| panic!("no health token {stage:?} in {region}: {e:?}"))
            .secret_string
            .unwrap()
    })
}

/// The `ResourcePath` of every HTTP(S) health check (the endpoint checks), as Route 53 has it.
fn endpoint_check_paths(project: &Project) -> Vec<String> {
    block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-east-1"));
        let checks = cloud
            .route53("us-east-1")
            .list_health_checks()
            .send()
            .await
            .unwrap();
        checks
            .health_checks
            .iter()
            .filter_map(|c| c.health_check_config.as_ref()?.resource_path.clone())
            .collect()
    })
}

/// The health tokens the web ACL of the regional stack `stack` (in `region`) accepts: the search
/// strings of the token matches in its health allow rule, as CloudFormation resolved them (the
/// shim's `generic-properties` route: moto has the web ACL only as a generic model).
fn accepted_tokens(project: &Project, region: &str, stack: &str) -> Vec<String> {
    let (status, body) = http(
        &project.moto,
        "GET",
        &format!("/moto-api/ingest/resources?region={region}&stack={stack}&logical-id=ApiWebAcl"),
        b"",
        &[],
    );
    assert_eq!(status, 200, "the web ACL of {stack}: {body}");
    let acl: Value = serde_json::from_str(&body).unwrap();
    let rule = acl["Properties"]["Rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Name"] == "health-from-route53-checkers")
        .unwrap_or_else(|| panic!("no health allow rule in {body}"));
    rule["Statement"]["AndStatement"]["Statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["OrStatement"]["Statements"].as_array())
        .flatten()
        .filter(|m| {
            m["ByteMatchStatement"]["FieldToMatch"]["SingleQueryArgument"]["Name"] == "token"
        })
        .map(|m| {
            m["ByteMatchStatement"]["SearchString"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The stacks whose change tables a deploy printed, in the order it printed them, with their
/// first line (`wiw-events-dns (us-west-2): 2 resource changes`).
fn change_tables(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.starts_with("wiw-events-") && l.contains("): "))
        .collect()
}

/// Whether `stack`'s table in a deploy's output lists a change of the resource `logical_id`.
fn table_lists(stdout: &str, stack: &str, logical_id: &str) -> bool {
    stdout
        .lines()
        .skip_while(|l| !(l.starts_with(&format!("{stack} (")) && l.contains("): ")))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .any(|l| l.split_whitespace().nth(1) == Some(logical_id))
}

#[test]
fn a_rotation_accepts_both_tokens_until_the_checks_send_the_new_one_and_the_next_deploy_narrows() {
    let (_moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let old = health_secret(&project, "us-east-1", None);
    assert_eq!(
        endpoint_check_paths(&project),
        vec![format!("/v1/health?token={old}"); 2]
    );
    let accepted = |tokens: [&String; 2]| {
        for (region, stack) in [
            ("us-east-1", "wiw-events-primary"),
            ("us-west-2", "wiw-events-secondary"),
        ] {
            assert_eq!(
                accepted_tokens(&project, region, stack),
                tokens.map(String::clone),
                "{stack}: HealthToken, HealthTokenPrevious"
            );
        }
    };
    // A first deploy: the web ACLs accept the one token the checks send.
    accepted([&old, &old]);
    // A deploy without the flag never changes the token, and --only cannot rotate.
    let (_, refused) = project.expect(
        1,
        &[
            "deploy",
            "--yes",
            "--only",
            "primary",
            "--artifact",
            "bootstrap.zip",
            "--rotate-health-token",
        ],
    );
    assert!(
        refused.contains("--rotate-health-token changes the token every stack takes"),
        "{refused}"
    );
    assert_eq!(health_secret(&project, "us-east-1", None), old);

    let (stdout, stderr) = project.expect(
        0,
        &[
            "deploy",
            "--yes",
            "--artifact",
            "bootstrap.zip",
            "--rotate-health-token",
        ],
    );
    let new = health_secret(&project, "us-east-1", None);
    assert_ne!(new, old, "a new value");
    assert_eq!(new.len(), 43);
    assert_eq!(
        health_secret(&project, "us-west-2", None),
        new,
        "in both regions"
    );
    for region in ["us-east-1", "us-west-2"] {
        assert_eq!(
            health_secret(&project, region, Some("AWSPREVIOUS")),
            old,
            "Secrets Manager keeps the old value in {region}"
        );
    }
    assert!(
        stderr
            .contains("health token: put a new random value in the secret wiw-events/health-token"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the web ACLs accept it beside the new one until the dns stack's checks send the new one; the next `ingest deploy` drops it"),
        "{stderr}"
    );
    for token in [&old, &new] {
        assert!(!stdout.contains(token.as_str()) && !stderr.contains(token.as_str()));
    }
    // The web ACLs changed first (HealthToken new, HealthTokenPrevious the old value the checks
    // still sent), then the checks: they send the new token now.
    let tables = change_tables(&stdout);
    assert!(tables[0].starts_with("wiw-events-primary ("), "{stdout}");
    assert!(tables[1].starts_with("wiw-events-secondary ("), "{stdout}");
    assert!(tables[2].starts_with("wiw-events-dns ("), "{stdout}");
    for stack in ["wiw-events-primary", "wiw-events-secondary"] {
        assert!(
            table_lists(&stdout, stack, "ApiWebAcl"),
            "{stack}:\n{stdout}"
        );
    }
    assert!(
        table_lists(&stdout, "wiw-events-dns", "PrimaryEndpointCheck"),
        "{stdout}"
    );
    assert_eq!(
        endpoint_check_paths(&project),
        vec![format!("/v1/health?token={new}"); 2]
    );
    // The web ACLs accept both: the new token and the old one, which the checks sent while the
    // regional stacks updated.
    accepted([&new, &old]);

    // The next deploy narrows the web ACLs to the new token: HealthTokenPrevious changes from
    // the old value to the new one, and nothing else does.
    let (narrowed, narrowed_err) =
        project.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(!narrowed_err.contains("accept it beside"), "{narrowed_err}");
    for stack in ["wiw-events-primary", "wiw-events-secondary"] {
        assert!(
            table_lists(&narrowed, stack, "ApiWebAcl"),
            "{stack}:\n{narrowed}"
        );
    }
    assert!(
        narrowed.contains("wiw-events-dns (us-west-2): no changes"),
        "{narrowed}"
    );
    assert_eq!(health_secret(&project, "us-west-2", None), new);
    accepted([&new, &new]);
    let (again, _) = project.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(again.ends_with("no changes\n"), "{again}");
    assert_eq!(
        again
            .lines()
            .filter(|l| l.ends_with(": no changes"))
            .count(),
        4,
        "{again}"
    );
}

#[test]
fn a_lost_secret_is_made_again_with_the_value_the_deployed_checks_send() {
    let (_moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let deployed = health_secret(&project, "us-west-2", None);
    block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-east-1"));
        for region in ["us-east-1", "us-west-2"] {
            cloud
                .secretsmanager(region)
                .delete_secret()
                .secret_id("wiw-events/health-token")
                .force_delete_without_recovery(true)
                .send()
                .await
                .unwrap();
        }
    });
    // diff says what deploy would do and writes nothing.
    let (_, diff_err) = project.expect(0, &["diff", "--artifact", "bootstrap.zip"]);
    assert!(
        diff_err.contains("no region has the secret wiw-events/health-token: would create it in us-east-1 and us-west-2 with the value the deployed health checks send"),
        "{diff_err}"
    );
    let (stdout, stderr) = project.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(
        stderr.contains("no region has the secret wiw-events/health-token: created it in us-east-1 and us-west-2 with the value the deployed health checks send (the token does not change)"),
        "{stderr}"
    );
    assert!(!stderr.contains(&deployed) && !stdout.contains(&deployed));
    for region in ["us-east-1", "us-west-2"] {
        assert_eq!(health_secret(&project, region, None), deployed, "{region}");
    }
    // Nothing changed: the checks send what they sent, the web ACLs accept it.
    assert_eq!(
        endpoint_check_paths(&project),
        vec![format!("/v1/health?token={deployed}"); 2]
    );
    assert_eq!(
        accepted_tokens(&project, "us-east-1", "wiw-events-primary"),
        [deployed.clone(), deployed.clone()]
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.ends_with(": no changes"))
            .count(),
        4,
        "{stdout}"
    );
}

/// Puts the dns stack back as stacks from before the health token had it: its endpoint checks
/// read the health route without a query string (a change set through the SDK, as an older
/// `ingest deploy` made it).
fn strip_token_from_checks(project: &Project, token: &str) {
    use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
    block_on(async {
        let cloud = ingest_synth::cloud::Cloud::with_config(project.sdk("us-west-2"));
        let cfn = cloud.cloudformation("us-west-2");
        let template = cfn
            .get_template()
            .stack_name("wiw-events-dns")
            .send()
            .await
            .unwrap()
            .template_body
            .unwrap();
        let old = template.replace(
            r#"ResourcePath: !Sub "/v1/health?token=${HealthToken}""#,
            r#"ResourcePath: "/v1/health""#,
        );
        assert_eq!(
            template.matches("ResourcePath: !Sub").count(),
            2,
            "the dns template's checks: {template}"
        );
        assert!(!old.contains("token=${HealthToken}"));
        let stack = cfn
            .describe_stacks()
            .stack_name("wiw-events-dns")
            .send()
            .await
            .unwrap();
        let parameters: Vec<Parameter> = stack.stacks()[0]
            .parameters()
            .iter()
            .map(|p| {
                let key = p.parameter_key().unwrap();
                let builder = Parameter::builder().parameter_key(key);
                if key == "HealthToken" {
                    builder.parameter_value(token).build()
                } else {
                    builder.use_previous_value(true).build()
                }
            })
            .collect();
        let created = cfn
            .create_change_set()
            .stack_name("wiw-events-dns")
            .change_set_name("older-ingest")
            .change_set_type(ChangeSetType::Update)
            .template_body(old)
            .set_parameters(Some(parameters))
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .unwrap();
        let id = created.id().unwrap().to_owned();
        for _ in 0..100 {
            let described = cfn
                .describe_change_set()
                .change_set_name(&id)
                .send()
                .await
                .unwrap();
            let status = described.status().map(|s| s.as_str().to_owned());
            if status.as_deref() == Some("CREATE_COMPLETE") {
                break;
            }
            assert_ne!(
                status.as_deref(),
                Some("FAILED"),
                "{:?}",
                described.status_reason()
            );
            thread::sleep(std::time::Duration::from_millis(100));
        }
        cfn.execute_change_set()
            .change_set_name(&id)
            .send()
            .await
            .unwrap();
        for _ in 0..300 {
            let stack = cfn
                .describe_stacks()
                .stack_name("wiw-events-dns")
                .send()
                .await
                .unwrap();
            let status = stack.stacks()[0]
                .stack_status()
                .unwrap()
                .as_str()
                .to_owned();
            if status == "UPDATE_COMPLETE" {
                return;
            }
            assert!(status.ends_with("_IN_PROGRESS"), "{status}");
            thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the dns stack did not finish its update");
    });
}

#[test]
fn checks_from_before_the_token_get_it_before_the_web_acls_require_it() {
    let (_moto, _api, project) = bootstrapped(Integration::Works);
    project.deploy();
    let token = health_secret(&project, "us-west-2", None);
    strip_token_from_checks(&project, &token);
    assert_eq!(endpoint_check_paths(&project), vec!["/v1/health"; 2]);
    // The regional stacks alone would make their web ACLs refuse the deployed checks.
    let (_, refused) = project.expect(
        1,
        &[
            "deploy",
            "--yes",
            "--only",
            "primary,secondary",
            "--artifact",
            "bootstrap.zip",
        ],
    );
    assert!(
        refused.contains("the deployed health checks send no health token, and the web ACLs of wiw-events-primary and wiw-events-secondary would require one"),
        "{refused}"
    );
    assert!(refused.contains("ingest deploy --only dns"), "{refused}");
    // diff says what deploy will do.
    let (_, diff_err) = project.expect(3, &["diff", "--artifact", "bootstrap.zip"]);
    assert!(
        diff_err.contains("the deployed health checks send no token: the dns stack deploys first"),
        "{diff_err}"
    );
    // The whole deploy: the dns stack first, with the deployed regional stacks' outputs (the
    // deployed web ACLs here already accept the token; those of an older version ignore the
    // query string), then the usual order, where the dns stack has no more to change.
    let (stdout, stderr) = project.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(
        stderr.contains("the deployed health checks send no token: the dns stack deploys first"),
        "{stderr}"
    );
    let tables = change_tables(&stdout);
    assert!(
        tables[0].starts_with("wiw-events-dns (us-west-2): 2 resource changes"),
        "{stdout}"
    );
    assert!(tables[1].starts_with("wiw-events-primary ("), "{stdout}");
    assert!(tables[2].starts_with("wiw-events-secondary ("), "{stdout}");
    assert_eq!(
        tables[3], "wiw-events-dns (us-west-2): no changes",
        "{stdout}"
    );
    assert_eq!(
        endpoint_check_paths(&project),
        vec![format!("/v1/health?token={token}"); 2]
    );
    // Once the checks send the token, the web ACLs need no other.
    assert_eq!(
        accepted_tokens(&project, "us-west-2", "wiw-events-secondary"),
        [token.clone(), token.clone()]
    );
    let (again, again_err) = project.expect(0, &["deploy", "--yes", "--artifact", "bootstrap.zip"]);
    assert!(!again_err.contains("deploys first"), "{again_err}");
    assert!(again.ends_with("no changes\n"), "{again}");
}
