//! Requests to replies, without a socket: the routes of the page and its
//! API, and every refusal (unknown paths, path tricks, foreign hosts and
//! origins, oversized or malformed bodies, bad values). The server in
//! `super` only moves bytes; everything the page can ask is decided here,
//! where the unit tests can ask it too.

use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{json, Value as Json};

use super::{changes, figures, levers, save, App};

/// Largest request body taken.
pub const MAX_BODY: usize = 64 * 1024;

/// The page, compiled into the binary.
pub const PAGE: &str = include_str!("page.html");

/// A request as the server read it.
pub struct Request<'a> {
    pub method: &'a str,
    /// The request target as sent (path and query).
    pub url: &'a str,
    pub host: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// A reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, j: &Json) -> Reply {
        Reply {
            status,
            content_type: "application/json; charset=utf-8",
            body: serde_json::to_vec(j).unwrap_or_default(),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({ "error": { "message": message } }))
    }

    fn refusal(status: u16, r: &changes::Refusal) -> Reply {
        Reply::json(
            status,
            &json!({ "error": { "index": r.index, "key": r.key, "message": r.message } }),
        )
    }

    /// The body as text (for tests and logs).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `%XX` decoded; `None` for a broken escape or text that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether a request path tries to leave the page: `..` in any form
/// (encoded, doubly encoded, with backslashes), a NUL, or a path that is
/// not absolute. Such requests are refused, not looked up.
pub fn is_traversal(path: &str) -> bool {
    let mut p = path.to_string();
    // Decode repeatedly: %252e%252e is %2e%2e is "..".
    for _ in 0..3 {
        match percent_decode(&p) {
            Some(d) if d != p => p = d,
            Some(_) => break,
            None => return true,
        }
    }
    !p.starts_with('/')
        || p.contains('\0')
        || p.contains('\\')
        || p.split('/').any(|seg| seg == ".." || seg == ".")
        || p.contains("/..")
}

/// Answers one request.
pub fn handle(app: &App, req: &Request) -> Reply {
    let path = req.url.split(['?', '#']).next().unwrap_or("");
    if is_traversal(path) {
        return Reply::error(
            403,
            "refused: the server gives its page and API only, never a file",
        );
    }
    if let Some(h) = req.host {
        if !app.host_allowed(h) {
            return Reply::error(403, "refused: this server answers for its own address only");
        }
    }
    match (req.method, path) {
        ("GET" | "HEAD", "/" | "/index.html") => Reply {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: PAGE.as_bytes().to_vec(),
        },
        ("GET", "/api/scenario") => Reply::json(200, &app.describe()),
        ("POST", "/api/run" | "/api/funding" | "/api/drivers" | "/api/save") => {
            if let Some(o) = req.origin {
                if !app.origin_allowed(o) {
                    return Reply::error(403, "refused: a request from another site");
                }
            }
            if !req
                .content_type
                .is_some_and(|c| c.trim_start().starts_with("application/json"))
            {
                return Reply::error(415, "send JSON (Content-Type: application/json)");
            }
            if req.body.len() > MAX_BODY {
                return Reply::error(413, &format!("request body over {MAX_BODY} bytes"));
            }
            let body: Json = match serde_json::from_slice(req.body) {
                Ok(b @ Json::Object(_)) => b,
                Ok(_) => return Reply::error(400, "the body must be a JSON object"),
                Err(e) => return Reply::error(400, &format!("the body is not JSON: {e}")),
            };
            match path {
                "/api/run" => run(app, &body, Phase::Figures),
                "/api/funding" => run(app, &body, Phase::Funding),
                "/api/drivers" => run(app, &body, Phase::Drivers),
                _ => save_variant(app, &body),
            }
        }
        (
            _,
            "/" | "/index.html" | "/api/scenario" | "/api/run" | "/api/funding" | "/api/drivers"
            | "/api/save",
        ) => Reply::error(405, "method not allowed"),
        _ => Reply::error(404, "not found: this server gives its page and API only"),
    }
}

/// What a run request asks for: the figures (first, fast), or, after
/// them, a study of the same changes: the funding study (when the
/// scenario has `[funding]`) or what drives each policy's gain (the
/// sensitivity study's top inputs).
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Figures,
    Funding,
    Drivers,
}

/// The body's `changes`, or the refusal that answers them.
fn parse_changes(app: &App, body: &Json) -> Result<Vec<changes::Change>, Reply> {
    changes::parse(
        &app.loaded.raw,
        app.base.steps_per_year,
        body.get("changes"),
    )
    .map_err(|r| Reply::refusal(422, &r))
}

fn run(app: &App, body: &Json, phase: Phase) -> Reply {
    let started = Instant::now();
    let cs = match parse_changes(app, body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (loaded, mut scenario) = match changes::build(&app.loaded, &cs) {
        Ok(x) => x,
        Err(r) => return Reply::refusal(422, &r),
    };
    scenario.trials = app.trials;
    scenario.seed = app.seed;
    match phase {
        Phase::Figures => {}
        Phase::Funding => {
            return study(app, started, "funding", |stop| {
                let found = figures::funding(&scenario, stop)?;
                Ok(found.map(|f| f.as_ref().map_or(Json::Null, figures::funding_json)))
            })
        }
        Phase::Drivers => {
            return study(app, started, "drivers", |stop| {
                figures::drivers(&loaded, &scenario, stop)
            })
        }
    }
    let derived: Vec<Json> = levers::levers(&loaded.raw, &scenario)
        .into_iter()
        .map(|l| json!([l.effective, l.quantiles]))
        .collect();
    // A newer request supersedes this one: it stops at its next block.
    exclusive(app, |superseded| {
        let ran = Instant::now();
        Ok(figures::run(scenario, superseded)?.map(|o| {
            let run_ms = ran.elapsed().as_secs_f64() * 1e3;
            let mut j = figures::to_json(&o);
            j["derived"] = Json::Array(derived);
            j["run_ms"] = json!(run_ms);
            j["server_ms"] = json!(started.elapsed().as_secs_f64() * 1e3);
            j
        }))
    })
}

/// Runs `work` as the one run in progress (the page's runs and studies
/// take turns), told by `superseded` once a newer request has come: its
/// answer (200), or 409 when a newer request came before it started or
/// stopped it (`work` gave nothing), or 422 with its error.
fn exclusive(
    app: &App,
    work: impl FnOnce(&(dyn Fn() -> bool + Sync)) -> crate::error::Result<Option<Json>>,
) -> Reply {
    let me = app.generation.fetch_add(1, Ordering::SeqCst) + 1;
    let _one = app.running.lock().unwrap_or_else(|p| p.into_inner());
    let superseded = || app.generation.load(Ordering::SeqCst) != me;
    if superseded() {
        return Reply::json(409, &json!({ "superseded": true }));
    }
    match work(&superseded) {
        Ok(Some(j)) => Reply::json(200, &j),
        Ok(None) => Reply::json(409, &json!({ "superseded": true })),
        Err(e) => Reply::error(422, &e.to_string()),
    }
}

/// A study of the page's changes, asked for once their figures are
/// drawn ([`exclusive`]); its answer is under `key`.
fn study(
    app: &App,
    started: Instant,
    key: &str,
    run: impl FnOnce(&(dyn Fn() -> bool + Sync)) -> crate::error::Result<Option<Json>>,
) -> Reply {
    exclusive(app, |superseded| {
        Ok(run(superseded)?.map(|found| {
            json!({
                key: found,
                "server_ms": started.elapsed().as_secs_f64() * 1e3,
            })
        }))
    })
}

fn save_variant(app: &App, body: &Json) -> Reply {
    let name = match body.get("name") {
        Some(Json::String(s)) => s.as_str(),
        _ => return Reply::error(400, "`name` (text) is required"),
    };
    let cs = match parse_changes(app, body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = changes::build(&app.loaded, &cs) {
        return Reply::refusal(422, &r);
    }
    let target = save::Target {
        scenario: &app.path,
        loaded: &app.loaded,
        file_trials: app.base.trials,
        file_seed: app.base.seed,
        trials: app.trials,
        seed: app.seed,
    };
    match save::save(&target, name, &cs) {
        Ok(p) => {
            let file = p.file_name().map(|n| n.to_string_lossy().into_owned());
            Reply::json(
                200,
                &json!({
                    "file": file,
                    "path": p.display().to_string(),
                    "command": format!("simulate {}", p.display()),
                }),
            )
        }
        Err(r) => Reply::refusal(422, &r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn app(dir: &Path) -> App {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let path = dir.join("reset.toml");
        std::fs::copy(root.join("scenarios/reset.toml"), &path).unwrap();
        App::new(
            &path,
            super::super::Limits {
                trials: 2048,
                seed: None,
            },
            "127.0.0.1:8000".parse().unwrap(),
        )
        .unwrap()
    }

    fn get(app: &App, url: &str) -> Reply {
        handle(
            app,
            &Request {
                method: "GET",
                url,
                host: Some("127.0.0.1:8000"),
                origin: None,
                content_type: None,
                body: b"",
            },
        )
    }

    fn post(app: &App, url: &str, body: &Json) -> Reply {
        let b = serde_json::to_vec(body).unwrap();
        handle(
            app,
            &Request {
                method: "POST",
                url,
                host: Some("127.0.0.1:8000"),
                origin: Some("http://127.0.0.1:8000"),
                content_type: Some("application/json"),
                body: &b,
            },
        )
    }

    #[test]
    fn routes() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let r = get(&app, "/");
        assert_eq!(
            (r.status, r.content_type),
            (200, "text/html; charset=utf-8")
        );
        assert!(r.text().contains("<svg") || r.text().contains("svg"));
        assert_eq!(get(&app, "/index.html?x=1").status, 200);
        let r = get(&app, "/api/scenario");
        assert_eq!(r.status, 200);
        let j: Json = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["trials"], 2048);
        assert!(j["levers"].as_array().unwrap().len() > 50);
        for p in [
            "/reset.toml",
            "/api",
            "/api/runs",
            "/favicon.ico",
            "/output/summary.json",
        ] {
            assert_eq!(get(&app, p).status, 404, "{p}");
        }
        assert_eq!(get(&app, "/api/run").status, 405);
    }

    #[test]
    fn path_tricks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        for p in [
            "/../../etc/passwd",
            "/..%2f..%2fetc%2fpasswd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/%252e%252e/etc/passwd",
            "/..\\..\\etc\\passwd",
            "/./reset.toml",
            "/x/../reset.toml",
            "/%00",
            "/%zz",
            "../reset.toml",
            "//..",
        ] {
            let r = get(&app, p);
            assert_eq!(r.status, 403, "{p}: {}", r.text());
            assert!(r.text().contains("refused"), "{p}");
        }
        assert!(!is_traversal("/api/run"));
        assert!(!is_traversal("/"));
    }

    #[test]
    fn foreign_hosts_origins_and_bodies_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let r = handle(
            &app,
            &Request {
                method: "GET",
                url: "/",
                host: Some("evil.example:8000"),
                origin: None,
                content_type: None,
                body: b"",
            },
        );
        assert_eq!(r.status, 403);
        let body = br#"{"changes": []}"#;
        let mut req = Request {
            method: "POST",
            url: "/api/run",
            host: Some("localhost:8000"),
            origin: Some("http://evil.example"),
            content_type: Some("application/json"),
            body,
        };
        assert_eq!(handle(&app, &req).status, 403);
        req.origin = None;
        req.content_type = Some("text/plain");
        assert_eq!(handle(&app, &req).status, 415);
        req.content_type = Some("application/json");
        let big = vec![b' '; MAX_BODY + 1];
        req.body = &big;
        assert_eq!(handle(&app, &req).status, 413);
        req.body = b"[1, 2]";
        assert_eq!(handle(&app, &req).status, 400);
        req.body = b"{not json";
        assert_eq!(handle(&app, &req).status, 400);
    }

    #[test]
    fn runs_answer_figures_and_bad_values_the_validators_message() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let r = post(&app, "/api/run", &json!({"changes": []}));
        assert_eq!(r.status, 200, "{}", r.text());
        let base: Json = serde_json::from_slice(&r.body).unwrap();
        let r = post(
            &app,
            "/api/run",
            &json!({"changes": [{"path": ["policies", "reset", "units", "Quark", "budget"], "value": 3}]}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let changed: Json = serde_json::from_slice(&r.body).unwrap();
        let gain = |j: &Json| {
            j["horizons"][2]["rows"][1]["gain"]["mean"]
                .as_f64()
                .unwrap()
        };
        assert_ne!(gain(&base), gain(&changed));
        // Common random numbers: the baseline does not move.
        let value = |j: &Json| {
            j["horizons"][2]["rows"][0]["value"]["mean"]
                .as_f64()
                .unwrap()
        };
        assert_eq!(value(&base), value(&changed));
        assert_eq!(
            changed["derived"].as_array().unwrap().len(),
            app.levers_len()
        );
        let r = post(
            &app,
            "/api/run",
            &json!({"changes": [{"path": ["policies", "reset", "reinvest_share"], "value": 1.5}]}),
        );
        assert_eq!(r.status, 422);
        let j: Json = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["error"]["message"], "must be a share in [0, 1], got 1.5");
        assert_eq!(j["error"]["index"], 0);
        let r = post(
            &app,
            "/api/run",
            &json!({"changes": [{"path": ["scenario", "trials"], "value": 1e9}]}),
        );
        assert_eq!(r.status, 422, "{}", r.text());
    }

    #[test]
    fn saves_refuse_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let cs = json!([{"path": ["policies", "reset", "units", "Quark", "budget"], "value": 3}]);
        for bad in ["../x", "a/b", "..", "", "reset"] {
            let r = post(&app, "/api/save", &json!({"name": bad, "changes": cs}));
            assert_eq!(r.status, 422, "{bad}: {}", r.text());
        }
        let r = post(&app, "/api/save", &json!({"name": "q3", "changes": cs}));
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(dir.path().join("q3.toml").exists());
        let r = post(&app, "/api/save", &json!({"changes": cs}));
        assert_eq!(r.status, 400);
    }
}
