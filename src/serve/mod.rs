//! `simulate serve`: a local page where a scenario's levers move and the
//! answer redraws (docs/serve.md).
//!
//! One scenario, read and validated once; the page sends its changes (a
//! list of keys and values), the server merges them into the scenario as
//! a variant file would (`changes`), validates the result with the
//! validator, and runs it with the page's fixed trials and seed: every
//! re-run sees the same draws, so moving one lever changes only what that
//! lever moves. One run at a time; a newer request stops an older one at
//! its next block. "Save as scenario" writes the same changes as a
//! variant file beside the scenario (`save`), which `simulate` then runs
//! to the same figures, bit for bit.
//!
//! The server (tiny_http, a few worker threads) binds 127.0.0.1 unless
//! told otherwise, answers only for its own address, gives its page and
//! API and nothing else (`http`), and never reads or writes a file outside
//! the scenario's folder.

pub mod changes;
pub mod figures;
pub mod http;
pub mod keys;
pub mod levers;
pub mod save;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::error::{Error, Result};
use crate::model::Scenario;
use crate::scenario::{self, Loaded};
use crate::{console, engine, resources};

/// Trials a page runs unless `--trials` says otherwise: a run of the
/// shipped scenarios takes a few tenths of a second on two cores.
pub const DEFAULT_TRIALS: u64 = 20_000;
/// Most trials a page may run (each change waits for a whole run).
pub const MAX_TRIALS: u64 = 200_000;
/// Request-handling threads (runs are one at a time; the others answer
/// the page, saves and refusals meanwhile).
const WORKERS: usize = 4;

/// How the page runs the scenario.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub trials: u64,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
}

/// What `simulate serve` was asked.
#[derive(Clone, Debug)]
pub struct Options {
    pub scenario: PathBuf,
    pub port: u16,
    /// Another address than 127.0.0.1 (warned about).
    pub bind: Option<IpAddr>,
    pub limits: Limits,
    pub threads: Option<u16>,
    /// Try to open the page in a browser.
    pub open: bool,
}

/// The served scenario and the state the requests share.
pub struct App {
    /// The scenario file as given.
    pub path: PathBuf,
    /// It, read and merged (the page's changes are patches over it).
    pub loaded: Loaded,
    /// It, validated (with the file's trials and seed).
    pub base: Scenario,
    /// The trials and seed every run of the page uses.
    pub trials: u64,
    pub seed: u64,
    /// The address served (requests for other hosts are refused when it
    /// is a loopback address).
    pub addr: SocketAddr,
    /// Bumped by every run request: a run whose number is no longer the
    /// latest stops.
    generation: AtomicU64,
    /// Held by the run in progress.
    running: Mutex<()>,
    levers: Vec<levers::Lever>,
}

impl App {
    /// Reads and validates the scenario; refuses bad limits.
    pub fn new(path: &Path, limits: Limits, addr: SocketAddr) -> Result<App> {
        if limits.trials == 0 || limits.trials > MAX_TRIALS {
            return Err(Error::Usage(format!(
                "--trials must be between 1 and {MAX_TRIALS} for serve (each change waits for a whole run), got {}",
                limits.trials
            )));
        }
        let loaded = scenario::load_raw(path)?;
        let base = loaded.scenario()?;
        let levers = levers::levers(&loaded.raw, &base);
        Ok(App {
            path: path.to_path_buf(),
            seed: limits.seed.unwrap_or(base.seed),
            trials: limits.trials,
            loaded,
            base,
            addr,
            generation: AtomicU64::new(0),
            running: Mutex::new(()),
            levers,
        })
    }

    /// Number of levers of the panel.
    pub fn levers_len(&self) -> usize {
        self.levers.len()
    }

    /// Names this server answers for (`Host`), when bound to loopback.
    fn hosts(&self) -> Vec<String> {
        let port = self.addr.port();
        let mut v = vec![
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        v.push(self.addr.to_string());
        v
    }

    /// Whether a `Host` header names this server (a page loaded from
    /// another name that resolves here, DNS rebinding, is refused).
    pub fn host_allowed(&self, host: &str) -> bool {
        !self.addr.ip().is_loopback() || self.hosts().iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Whether an `Origin` header is this server's page.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        !self.addr.ip().is_loopback()
            || self
                .hosts()
                .iter()
                .any(|h| origin.eq_ignore_ascii_case(&format!("http://{h}")))
    }

    /// What the page needs before its first run.
    pub fn describe(&self) -> serde_json::Value {
        let s = &self.base;
        json!({
            "scenario": s.name,
            "file": self.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "currency": s.currency,
            "trials": self.trials,
            "seed": self.seed,
            "file_trials": s.trials,
            "file_seed": s.seed,
            "max_trials": MAX_TRIALS,
            "horizons": s.horizons,
            "policies": s.policies.iter().map(|p| &p.name).collect::<Vec<_>>(),
            "baseline": s.policies[s.baseline].name,
            "has_funding": s.funding.is_some(),
            "levers": self.levers,
        })
    }
}

/// `simulate serve`: serves the page until Ctrl-C (exit 130, as any
/// interrupted command).
pub fn serve(o: &Options) -> Result<()> {
    let threads = resources::threads(o.threads)?;
    resources::set_global_threads(threads);
    let ip = o.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let mut app = App::new(&o.scenario, o.limits, SocketAddr::new(ip, o.port))?;
    for w in app.loaded.warnings() {
        console::say(&format!("warning: {w}"));
    }
    let mut probe = app.base.clone();
    probe.trials = app.trials;
    resources::check_memory(&probe, threads, app.trials, 1)?;
    if !ip.is_loopback() {
        console::say(&format!(
            "warning: --bind {ip}: the page is reachable from other machines, without a password; anyone who reaches it can run the scenario and save variants beside it"
        ));
    }
    let server = tiny_http::Server::http(SocketAddr::new(ip, o.port))
        .map_err(|e| Error::Usage(format!("cannot listen on {ip} port {}: {e}", o.port)))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| Error::Usage("the server has no IP address".into()))?;
    app.addr = addr;
    let url = format!("http://{addr}/");
    console::outln(&format!(
        "serving {} at {url}\n  {} trials, seed {} on every change; Ctrl-C stops",
        o.scenario.display(),
        app.trials,
        app.seed
    ))?;
    if o.open {
        open(&url);
    }
    let app = Arc::new(app);
    let server = Arc::new(server);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (app, server) = (Arc::clone(&app), Arc::clone(&server));
            std::thread::spawn(move || loop {
                if engine::INTERRUPTED.load(Ordering::Relaxed) {
                    break;
                }
                match server.recv_timeout(Duration::from_millis(200)) {
                    Ok(Some(rq)) => respond(&app, rq),
                    Ok(None) => {}
                    Err(_) => break,
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Err(Error::Interrupted)
}

/// Tries to open the page in the desktop's browser, quietly.
fn open(url: &str) {
    let tried = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if tried.is_err() {
        console::say(&format!("note: could not open a browser; open {url}"));
    }
}

/// Reads one request (its body bounded), answers it.
fn respond(app: &App, mut rq: tiny_http::Request) {
    let header = |name: &'static str| {
        rq.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (host, origin, content_type) = (header("Host"), header("Origin"), header("Content-Type"));
    let method = rq.method().as_str().to_string();
    let url = rq.url().to_string();
    let too_big = rq.body_length().is_some_and(|n| n > http::MAX_BODY);
    let mut body = Vec::new();
    let reply = if too_big {
        None
    } else {
        use std::io::Read as _;
        let read = rq
            .as_reader()
            .take(http::MAX_BODY as u64 + 1)
            .read_to_end(&mut body);
        match read {
            Ok(_) if body.len() <= http::MAX_BODY => Some(http::handle(
                app,
                &http::Request {
                    method: &method,
                    url: &url,
                    host: host.as_deref(),
                    origin: origin.as_deref(),
                    content_type: content_type.as_deref(),
                    body: &body,
                },
            )),
            Ok(_) => None,
            Err(_) => return,
        }
    };
    let reply = reply.unwrap_or_else(|| http::Reply {
        status: 413,
        content_type: "application/json; charset=utf-8",
        body: format!(
            "{{\"error\":{{\"message\":\"request body over {} bytes\"}}}}",
            http::MAX_BODY
        )
        .into_bytes(),
    });
    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
    for (k, v) in [
        ("Content-Type", reply.content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    ] {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    if too_big {
        // The unread body is not drained: the connection closes.
        if let Ok(h) = tiny_http::Header::from_bytes(&b"Connection"[..], &b"close"[..]) {
            response.add_header(h);
        }
    }
    // A page that went away mid-reply is not an error of the server.
    let _ = rq.respond(response);
}
