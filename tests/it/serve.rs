//! `simulate serve` over real HTTP: the real binary on a free port, spoken
//! to with plain `TcpStream`s (the page's requests, and hostile ones).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{self, f, row};

/// A running `simulate serve`, stopped when dropped.
pub struct Server {
    pub child: Option<Child>,
    pub addr: String,
}

impl Server {
    /// Serves `scenario` on a free port with `trials` trials.
    pub fn start(scenario: &Path, trials: u64) -> Server {
        let mut child = common::bin()
            .args([
                "serve",
                scenario.to_str().unwrap(),
                "--port",
                "0",
                "--trials",
                &trials.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("simulate serve starts");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).expect("serve prints its URL");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        // Keep reading stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = out.read_to_string(&mut sink);
        });
        Server {
            child: Some(child),
            addr,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// One request; returns (status, body). `raw_path` goes out as given.
    pub fn request(&self, method: &str, raw_path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
        let mut head = format!(
            "{method} {raw_path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        if let Some(b) = body {
            // A refused body may be cut short by the server: not an error.
            let _ = s.write_all(b);
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        let status: u16 = text
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let at = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(buf.len(), |i| i + 4);
        let chunked = String::from_utf8_lossy(&buf[..at])
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(&buf[at..])
        } else {
            buf[at..].to_vec()
        };
        (status, body)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (st, b) = self.request("POST", path, Some(&serde_json::to_vec(body).unwrap()));
        let v = serde_json::from_slice(&b)
            .unwrap_or_else(|_| panic!("{st}: {}", String::from_utf8_lossy(&b)));
        (st, v)
    }

    /// Sends Ctrl-C (SIGINT) and waits for the exit.
    pub fn interrupt(&mut self) -> std::process::Output {
        let child = self.child.take().unwrap();
        // SAFETY: kill(2) on the id of a child this test started and has
        // not yet waited for.
        let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(sent, 0);
        common::wait_at_most(child, Duration::from_secs(20)).0
    }
}

/// A chunked HTTP body, joined.
pub fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(nl) = b[i..].windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&b[i..i + nl]);
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let start = i + nl + 2;
        if size == 0 || start + size > b.len() {
            break;
        }
        out.extend_from_slice(&b[start..start + size]);
        i = start + size + 2;
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A folder holding a copy of reset.toml.
pub fn folder() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reset.toml");
    std::fs::copy(common::root().join("scenarios/reset.toml"), &path).unwrap();
    (dir, path)
}

/// The question: Quark's budget 3 under reset, Cloud growing 0%.
pub fn quark_and_cloud() -> Value {
    json!([
        {"path": ["policies", "reset", "units", "Quark", "budget"], "value": 3},
        {"path": ["units", "Cloud Intelligence", "growth"], "value": "0"},
    ])
}

#[test]
fn a_changed_lever_saved_reproduces_bit_for_bit() {
    let (dir, path) = folder();
    let server = Server::start(&path, 2500);
    let (st, page) = server.request("GET", "/", None);
    assert_eq!(st, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("<script>") && page.contains("Save as scenario"));
    // Everything inline: no script, style or font from elsewhere.
    for remote in ["<script src", "<link", "https://", "@import"] {
        assert!(!page.contains(remote), "{remote}");
    }

    let (st, base) = server.post("/api/run", &json!({"changes": []}));
    assert_eq!(st, 200, "{base}");
    let (st, shown) = server.post("/api/run", &json!({"changes": quark_and_cloud()}));
    assert_eq!(st, 200, "{shown}");
    let gain = |j: &Value, h: usize| {
        j["horizons"][h]["rows"][1]["gain"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert_ne!(gain(&base, 2), gain(&shown, 2));
    // The baseline's own units did not move (common random numbers).
    let sq = |j: &Value| {
        j["horizons"][2]["rows"][0]["value"]["mean"]
            .as_f64()
            .unwrap()
    };
    assert_ne!(
        sq(&base),
        sq(&shown),
        "Cloud's growth moves the baseline too"
    );

    let (st, saved) = server.post(
        "/api/save",
        &json!({"name": "quark3-cloud0", "changes": quark_and_cloud()}),
    );
    assert_eq!(st, 200, "{saved}");
    let file = dir.path().join("quark3-cloud0.toml");
    assert_eq!(
        saved["path"].as_str().map(PathBuf::from),
        Some(file.clone())
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("extends = \"reset.toml\""), "{text}");
    assert!(text.contains("trials = 2500"), "{text}");
    assert!(text.contains("growth = 0   # was 0.02"), "{text}");
    assert!(text.contains("# was: Quark.budget = 6"), "{text}");

    // `simulate` on the saved file gives the page's figures, bit for bit.
    let summary = common::simulate(&file, &dir.path().join("out"), &["--no-charts"]);
    for (h, years) in [3u64, 4, 5].iter().enumerate() {
        for (p, name) in ["status_quo", "reset"].iter().enumerate() {
            let r = &shown["horizons"][h]["rows"][p];
            for (metric, key) in [("value", "value"), ("delta_value", "gain")] {
                let want = row(&summary, name, *years, metric, None);
                for stat in ["mean", "stderr", "p5", "p50", "p95", "cvar"] {
                    assert_eq!(
                        f(&r[key], stat).to_bits(),
                        f(want, stat).to_bits(),
                        "{name} {years} {metric} {stat}"
                    );
                }
            }
        }
    }
    let stored = row(&summary, "reset", 5, "delta_value", None);
    assert_eq!(
        shown["horizons"][2]["rows"][1]["text"]["gain"],
        stratsim::format::gain(f(stored, "mean"), f(stored, "stderr"))
    );
}

#[test]
fn bad_values_and_requests_are_refused_with_a_message() {
    let (dir, path) = folder();
    let server = Server::start(&path, 1024);
    let (st, j) = server.post(
        "/api/run",
        &json!({"changes": [{"path": ["policies", "reset", "reinvest_share"], "value": 1.5}]}),
    );
    assert_eq!(st, 422);
    assert_eq!(j["error"]["message"], "must be a share in [0, 1], got 1.5");
    assert_eq!(j["error"]["index"], 0);
    let (st, j) = server.post(
        "/api/run",
        &json!({"changes": [{"path": ["units", "Quark", "volatility"], "value": "high"}]}),
    );
    assert_eq!(st, 422);
    assert!(j["error"]["message"]
        .as_str()
        .unwrap()
        .contains("must be a number"));
    let (st, j) = server.post(
        "/api/run",
        &json!({"changes": [{"path": ["units", "Quakr", "growth"], "value": 0.1}]}),
    );
    assert_eq!(st, 422);
    assert!(j["error"]["message"]
        .as_str()
        .unwrap()
        .contains("did you mean \"Quark\""));

    // Files outside the page: refused, never read.
    let secret = dir.path().parent().unwrap().join("secret.txt");
    for p in [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/%252e%252e/%252e%252e/etc/passwd",
        "/..\\..\\etc\\passwd",
    ] {
        let (st, body) = server.request("GET", p, None);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(st, 403, "{p}: {body}");
        assert!(
            body.contains("refused") && !body.contains("root:"),
            "{p}: {body}"
        );
    }
    for p in ["/reset.toml", "/etc/passwd", "/api/x/reset.toml"] {
        let (st, body) = server.request("GET", p, None);
        assert_eq!(st, 404, "{p}");
        assert!(!String::from_utf8_lossy(&body).contains("[scenario]"));
    }
    // Saves never leave the folder, never replace a file stratsim did not
    // write.
    std::fs::write(dir.path().join("notes.toml"), "# mine\n").unwrap();
    for name in ["../secret", "/tmp/x", "notes", "reset", "..", "a/b"] {
        let (st, j) = server.post(
            "/api/save",
            &json!({"name": name, "changes": quark_and_cloud()}),
        );
        assert_eq!(st, 422, "{name}: {j}");
        assert!(!j["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.toml")).unwrap(),
        "# mine\n"
    );
    assert!(!secret.exists());
    assert!(!dir.path().parent().unwrap().join("secret.toml").exists());

    // Oversized bodies are refused before they are read.
    let big = vec![b'x'; 200 * 1024];
    let (st, body) = server.request("POST", "/api/run", Some(&big));
    assert_eq!(st, 413, "{}", String::from_utf8_lossy(&body));
    // Not JSON, or not from this page.
    let (st, _) = server.request("POST", "/api/run", Some(b"{oops"));
    assert_eq!(st, 400);
    // The server is still there after all of this.
    let (st, _) = server.request("GET", "/api/scenario", None);
    assert_eq!(st, 200);
}

#[test]
fn bad_command_lines_are_refused_and_ctrl_c_stops() {
    let (_dir, path) = folder();
    let o = common::run(&[
        "serve",
        path.to_str().unwrap(),
        "--trials",
        "200001",
        "--port",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("--trials must be between 1 and 200000"));
    // A bad scenario is refused as a run refuses it, before listening.
    let text = std::fs::read_to_string(&path).unwrap();
    let bad = path.with_file_name("bad.toml");
    std::fs::write(
        &bad,
        text.replace("volatility = 0.40", "volatility = -0.40"),
    )
    .unwrap();
    let o = common::run(&["serve", bad.to_str().unwrap(), "--port", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("volatility"),
        "{}",
        common::stderr(&o)
    );
    let mut server = Server::start(&path, 1024);
    let (st, _) = server.request("GET", "/", None);
    assert_eq!(st, 200);
    let o = server.interrupt();
    assert_eq!(o.status.code(), Some(130), "{}", common::stderr(&o));
}

#[test]
fn a_newer_request_stops_the_run_in_progress() {
    let (_dir, path) = folder();
    let server = std::sync::Arc::new(Server::start(&path, 4096));
    let budget = |b: f64| json!({"changes": [{"path": ["policies", "reset", "units", "Quark", "budget"], "value": b}]});
    // How long one run takes here (debug or release, loaded or not).
    let start = std::time::Instant::now();
    let (st, alone) = server.post("/api/run", &budget(2.0));
    assert_eq!(st, 200);
    let one_run = start.elapsed();
    // Two runs, the second sent a tenth of a run after the first: one of
    // them is overtaken and answered 409; the other is answered in full.
    let first = {
        let s = std::sync::Arc::clone(&server);
        let b = budget(2.0);
        std::thread::spawn(move || s.post("/api/run", &b))
    };
    std::thread::sleep(one_run / 10);
    let second = server.post("/api/run", &budget(5.0));
    let first = first.join().unwrap();
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 409],
        "first {}, second {}",
        first.1,
        second.1
    );
    let (done, budget_of_done) = if first.0 == 200 {
        (&first.1, 2.0)
    } else {
        (&second.1, 5.0)
    };
    let superseded = if first.0 == 409 { &first.1 } else { &second.1 };
    assert_eq!(superseded["superseded"], true);
    // The run answered is its own request's, whole.
    let gain = |j: &Value| {
        j["horizons"][2]["rows"][1]["gain"]["mean"]
            .as_f64()
            .unwrap()
    };
    if budget_of_done == 2.0 {
        assert_eq!(gain(done).to_bits(), gain(&alone).to_bits());
    } else {
        assert_ne!(gain(done), gain(&alone));
    }
    assert_eq!(done["trials"], 4096);
}

#[test]
fn the_funding_answer_follows_the_figures() {
    let (dir, _) = folder();
    let path = dir.path().join("innovation_cycles.toml");
    // It extends reset.toml, which `folder` put beside it.
    std::fs::copy(
        common::root().join("scenarios/innovation_cycles.toml"),
        &path,
    )
    .unwrap();
    let server = Server::start(&path, 1024);
    let (st, info) = server.request("GET", "/api/scenario", None);
    assert_eq!(st, 200);
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["has_funding"], true);
    let (st, j) = server.post("/api/funding", &json!({"changes": []}));
    assert_eq!(st, 200, "{j}");
    let first = j["funding"]["sentences"][0].as_str().unwrap().to_string();
    assert!(first.contains("1688"), "{first}");
    // A changed gate moves the study's answer.
    let (st, j) = server.post(
        "/api/funding",
        &json!({"changes": [{"path": ["units", "1688", "growth"], "value": 0.3}]}),
    );
    assert_eq!(st, 200, "{j}");
    assert_ne!(j["funding"]["sentences"][0].as_str().unwrap(), first);
    // reset.toml has none: the answer says so.
    let (_dir2, reset) = folder();
    let server = Server::start(&reset, 1024);
    let (st, j) = server.post("/api/funding", &json!({"changes": []}));
    assert_eq!((st, &j["funding"]), (200, &Value::Null));
}

/// What drives the gain, as the page asks for it after its figures: the
/// top 5 inputs per policy of the sensitivity study of the page's
/// changes, the same figures as `simulate --sensitivity
/// --sensitivity-top 5` on the variant the page saves.
#[test]
fn the_drivers_are_simulates_study_of_the_saved_variant() {
    let (dir, path) = folder();
    let server = Server::start(&path, 4096);
    let (st, j) = server.post("/api/drivers", &json!({"changes": quark_and_cloud()}));
    assert_eq!(st, 200, "{j}");
    let d = &j["drivers"];
    assert_eq!(
        (d["horizon"].as_u64(), d["trials"].as_u64()),
        (Some(5), Some(4096))
    );
    let rows = d["policies"][0]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 5, "{d}");
    let (st, _) = server.post(
        "/api/save",
        &json!({"name": "drivers", "changes": quark_and_cloud()}),
    );
    assert_eq!(st, 200);
    let out = dir.path().join("out");
    let file = dir.path().join("drivers.toml");
    let o = common::run(&[
        file.to_str().unwrap(),
        "--sensitivity",
        "--sensitivity-top",
        "5",
        "--no-charts",
        "--no-xlsx",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut csv = csv::Reader::from_path(out.join("sensitivity.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let want: Vec<csv::StringRecord> = csv.records().take(5).map(|r| r.unwrap()).collect();
    for (got, want) in rows.iter().zip(&want) {
        assert_eq!(got["path"].as_str(), Some(&want[col("path")]));
        for (key, column) in [
            ("change_low", "gain_change_low"),
            ("change_high", "gain_change_high"),
        ] {
            let w: f64 = want[col(column)].parse().unwrap();
            assert_eq!(
                got[key].as_f64().map(f64::to_bits),
                Some(w.to_bits()),
                "{key}"
            );
        }
    }
    // The sentence names the top driver, as simulate's headline does.
    let first = d["sentences"][0].as_str().unwrap();
    assert!(first.contains("The gain depends most on"), "{first}");
}

#[test]
fn a_changed_distribution_shows_its_quantiles_and_reproduces() {
    let (dir, _) = folder();
    let path = dir.path().join("reset_uncertain.toml");
    std::fs::copy(common::root().join("scenarios/reset_uncertain.toml"), &path).unwrap();
    let server = Server::start(&path, 2048);
    let intl = ["units", "International Digital Commerce", "revenue"];
    let change =
        json!([{"path": intl, "value": {"dist": "lognormal", "median": "120", "dispersion": 0.1}}]);
    let (st, j) = server.post("/api/run", &json!({"changes": change}));
    assert_eq!(st, 200, "{j}");
    // The lever's P5 / P50 / P95 follow the new distribution.
    let (_, info) = server.request("GET", "/api/scenario", None);
    let info: Value = serde_json::from_slice(&info).unwrap();
    let at = info["levers"]
        .as_array()
        .unwrap()
        .iter()
        .position(|l| l["path"] == json!(intl))
        .unwrap();
    assert_eq!(info["levers"][at]["quantiles"][1], 97.0);
    assert_eq!(j["derived"][at][1][1], 120.0);
    // A distribution the validator refuses: its message.
    let bad =
        json!([{"path": intl, "value": {"dist": "lognormal", "median": -5, "dispersion": 0.1}}]);
    let (st, e) = server.post("/api/run", &json!({"changes": bad}));
    assert_eq!(st, 422);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("median must be positive"),
        "{e}"
    );
    // Saved and run: the page's figures, bit for bit (drawn assumptions
    // included).
    let (st, _) = server.post("/api/save", &json!({"name": "intl120", "changes": change}));
    assert_eq!(st, 200);
    let file = dir.path().join("intl120.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("revenue = { dist = \"lognormal\", median = 120, dispersion = 0.1 }   # was { dist = \"lognormal\", median = 97, dispersion = 0.1 }"),
        "{text}"
    );
    let summary = common::simulate(&file, &dir.path().join("out"), &["--no-charts"]);
    let want = row(&summary, "reset", 5, "delta_value", None);
    let shown = &j["horizons"][2]["rows"][1]["gain"];
    assert_eq!(f(shown, "mean").to_bits(), f(want, "mean").to_bits());
    assert_eq!(f(shown, "p50").to_bits(), f(want, "p50").to_bits());
}
