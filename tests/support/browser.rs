//! A headless Chromium for page tests, driven through chromedriver's W3C WebDriver HTTP API
//! with plain reqwest: Debian's `chromium` and `chromium-driver` (infra/chromium.sh installs
//! them; infra/test runs it), never a browser downloaded at run time.
//!
//! Each [`Browser`] starts its own chromedriver on a free port, in its own process group, with
//! a fresh profile directory; dropping it ends that process group (chromedriver and the
//! Chromium it started) and removes the profile, also when a test fails.

use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::eventually;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Flags this machine needs: without the background-networking ones, Chromium's own
/// connections (updates, sync, field trials) are refused by the closed network and stall it.
const CHROMIUM_FLAGS: [&str; 12] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    // No crash handler: it would outlive the process group that drop ends.
    "--disable-crash-reporter",
    "--disable-breakpad",
    "--window-size=1360,1180",
];

/// The platform's state directory (logs, screenshots): `FINFLOW_STATE_DIR` or `infra/.state`.
pub fn state_dir() -> PathBuf {
    std::env::var_os("FINFLOW_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/.state"))
}

pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a Chromium session. Fails, never skips, when either is missing:
    /// a page test that passes without a browser proves nothing.
    pub async fn start() -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: page tests need Debian's chromium and chromium-driver \
                 (infra/test installs them with `infra/chromium.sh ensure`)"
            );
        }
        let port = free_port();
        let profile =
            std::env::temp_dir().join(format!("finflow-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).expect("a Chromium profile directory");
        let log = driver_log();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--log-level=WARNING")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_or(Stdio::null(), Stdio::from))
            .stderr(Stdio::from(log))
            // Its own process group, so that drop ends Chromium with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client builds");
        let mut browser = Browser {
            http,
            session: String::new(),
            driver,
            profile,
        };
        let status_url = format!("http://127.0.0.1:{port}/status");
        eventually("chromedriver to be ready", Duration::from_secs(30), || {
            let (http, url) = (&browser.http, &status_url);
            async move {
                let status: Value = http.get(url).send().await.ok()?.json().await.ok()?;
                (status["value"]["ready"] == true).then_some(())
            }
        })
        .await;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }}});
        let created = browser
            .command(
                reqwest::Method::POST,
                &format!("http://127.0.0.1:{port}/session"),
                Some(capabilities),
            )
            .await;
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver created no session: {created}"));
        browser.session = format!("http://127.0.0.1:{port}/session/{id}");
        browser
    }

    /// One WebDriver command; its `value`, or a panic naming the WebDriver error.
    async fn command(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "WebDriver {method} {url} answered {status}: {} {}",
            body["value"]["error"],
            body["value"]["message"]
        );
        body["value"].clone()
    }

    async fn session_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.command(method, &format!("{}{path}", self.session), body)
            .await
    }

    /// Navigates (a full load) to `url`.
    pub async fn goto(&self, url: &str) {
        self.session_command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page; its return value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.session_command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self
            .session_command(reqwest::Method::GET, "/screenshot", None)
            .await;
        decode_base64(encoded.as_str().expect("a screenshot is base64 text"))
            .expect("the screenshot is valid base64")
    }

    /// Ends the session (Chromium quits); drop then stops chromedriver.
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(&self.session)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group this browser started: chromedriver and its Chromium.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free local port")
}

fn driver_log() -> File {
    let dir = state_dir();
    let _ = std::fs::create_dir_all(&dir);
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("chromedriver.log"))
        .or_else(|_| File::create("/dev/null"))
        .expect("a log file for chromedriver")
}

/// Standard base64 (RFC 4648, with padding), as WebDriver sends screenshots; line breaks
/// are allowed.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(
            decode_base64("iVBORw0K\nGgo=").unwrap(),
            b"\x89PNG\r\n\x1a\n"
        );
        assert_eq!(decode_base64("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(decode_base64("Zm9").is_none());
        assert!(decode_base64("Zm9*").is_none());
    }
}
