//! The pages in a real browser: Debian's Chromium driven through chromedriver
//! with fantoccini. The questionnaire and the dashboard on a 360 px phone,
//! the dashboard's form and permalink, the chart decoding, the embed page in
//! a frame, and (when `AXE_CORE_JS` names axe-core's `axe.min.js`) no WCAG 2.1
//! AA violation on any page. Skipped, and said so, where chromedriver is not
//! installed.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "\n*** {text} ***\n");
}

impl Browser {
    /// A headless Chromium with a `width` × `height` viewport (`phone`:
    /// emulating a phone's screen, touch and pixel ratio).
    async fn start(width: u32, height: u32, phone: bool) -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists()
        {
            say("browser test SKIPPED: apt-get install -y chromium chromium-driver");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({"binary": CHROMIUM, "args": args});
        if phone {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}});
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    });
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a session: {last_error}");
    }

    async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Waits until `script` returns true (at most 10 s).
    async fn wait_for(&self, script: &str) -> bool {
        for _ in 0..100 {
            if self.run(script).await == json!(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// The chart image's `(currentSrc, naturalWidth)` once it has loaded.
    async fn chart(&self, id: &str) -> (String, u64) {
        let loaded = format!(
            "const i = document.getElementById('{id}'); return !!i && i.complete && i.naturalWidth > 0;"
        );
        assert!(
            self.wait_for(&loaded).await,
            "the image #{id} did not decode"
        );
        let info = self
            .run(&format!(
                "const i = document.getElementById('{id}'); return [i.currentSrc, i.naturalWidth];"
            ))
            .await;
        (
            info[0].as_str().unwrap_or_default().to_string(),
            info[1].as_u64().unwrap_or(0),
        )
    }

    /// Page width against its scrolling width.
    async fn fits(&self) -> (f64, f64) {
        let v = self
            .run("return [window.innerWidth, document.documentElement.scrollWidth];")
            .await;
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }

    /// axe-core's WCAG 2.1 A and AA violations on the open page, or None
    /// without `AXE_CORE_JS`.
    async fn accessibility_violations(&self) -> Option<Vec<Value>> {
        let path = std::env::var("AXE_CORE_JS").ok()?;
        let source =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("AXE_CORE_JS={path}: {e}"));
        self.client.execute(&source, vec![]).await.unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.html)}))))
                    .catch(e => done([{id: 'axe-error', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap();
        Some(result.as_array().cloned().unwrap_or_default())
    }

    async fn close(self) {
        let Browser {
            client,
            mut driver,
            _profile,
        } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

#[tokio::test]
async fn on_a_360_px_phone_the_form_fits_has_finger_sized_choices_and_submits_without_script() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let survey_id = app.with_demo_survey();
    let Some(browser) = Browser::start(360, 740, true).await else {
        return;
    };
    browser.open(&app.url("/s/digital-trust?lang=en")).await;
    let layout = browser
        .run("return {width: window.innerWidth, scroll: document.documentElement.scrollWidth,
                     smallest: Math.min(...[...document.querySelectorAll('label.c')].map(l => l.getBoundingClientRect().height)),
                     fieldsets: document.querySelectorAll('fieldset').length, scripts: document.scripts.length};")
        .await;
    assert_eq!(layout["width"], 360, "{layout}");
    assert!(
        layout["scroll"].as_f64().unwrap() <= 360.0,
        "the page scrolls sideways: {layout}"
    );
    assert!(
        layout["smallest"].as_f64().unwrap() >= 44.0,
        "a choice is smaller than a finger: {layout}"
    );
    assert_eq!(layout["fieldsets"], 11);
    assert_eq!(layout["scripts"], 0);
    browser
        .click("input[name=portal_account][value=deleted]")
        .await;
    browser.click("input[name=portal_trust][value='2']").await;
    browser
        .click("input[name=concerns][value=surveillance]")
        .await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .wait_for("return location.pathname.endsWith('/thanks');")
            .await
    );
    let url = browser.url().await;
    assert!(url.ends_with("/s/digital-trust/thanks?lang=en"), "{url}");
    assert_eq!(app.response_count(survey_id), 1);
    browser.close().await;
}

#[tokio::test]
async fn the_dashboard_draws_its_chart_follows_its_form_and_restores_its_permalink() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    trustpulse::db::seed::load_demo(&mut app.store.get().unwrap(), 3_000, 5, |_| {}).unwrap();
    let Some(browser) = Browser::start(1280, 900, false).await else {
        return;
    };
    browser
        .open(&app.url("/d/digital-trust?lang=en&by=settlement"))
        .await;
    let (first, width) = browser.chart("chart").await;
    assert_eq!(width, 1200, "{first}");
    assert!(first.contains("by=settlement"), "{first}");
    let (_, shift_width) = browser.chart("shifts").await;
    assert!(shift_width > 0);

    // Another breakdown through the form: a new URL and a new chart.
    browser
        .client
        .find(Locator::Css("#c-by"))
        .await
        .unwrap()
        .select_by_value("age_band")
        .await
        .unwrap();
    browser.click(".controls button[type=submit]").await;
    assert!(
        browser
            .wait_for("return location.search.includes('by=age_band');")
            .await
    );
    let permalink = browser.url().await;
    let (second, _) = browser.chart("chart").await;
    assert_ne!(first, second);
    assert!(second.contains("by=age_band"), "{second}");

    // The permalink, opened afresh, restores the view.
    browser.open(&app.url("/")).await;
    browser.open(&permalink).await;
    let chosen = browser
        .run("return document.getElementById('c-by').value;")
        .await;
    assert_eq!(chosen, "age_band");
    assert_eq!(browser.chart("chart").await.0, second);
    browser.close().await;
}

#[tokio::test]
async fn on_a_360_px_phone_the_dashboard_fits_and_the_embed_page_frames() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    trustpulse::db::seed::load_demo(&mut app.store.get().unwrap(), 2_000, 8, |_| {}).unwrap();
    let Some(browser) = Browser::start(360, 740, true).await else {
        return;
    };
    for path in ["/?lang=ru", "/d/digital-trust?lang=ru&by=settlement"] {
        browser.open(&app.url(path)).await;
        let (width, scroll) = browser.fits().await;
        assert!(
            scroll <= width,
            "{path} scrolls sideways: {scroll} > {width}"
        );
    }
    let (src, natural) = browser.chart("chart").await;
    assert!(
        src.contains("width=480"),
        "a phone gets the narrow chart: {src}"
    );
    assert_eq!(natural, 480);

    // Another site (another origin) frames the embed page: the chart loads
    // inside the frame.
    let embed = app.url("/embed/digital-trust/portal_trust?lang=en&metric=top2");
    let host = serve_once_per_request(format!(
        "<!doctype html><title>host</title><iframe id=f width=340 height=300 src='{embed}'></iframe>"
    ))
    .await;
    browser.open(&host).await;
    assert!(
        browser
            .wait_for("const f = document.getElementById('f'); return !!f;")
            .await
    );
    browser.client.enter_frame(0).await.unwrap();
    let (inner, natural) = browser.chart("chart").await;
    assert!(
        inner.contains("/charts/digital-trust/portal_trust.png"),
        "{inner}"
    );
    assert!(natural > 0);

    // The dashboard itself refuses to be framed.
    let host = serve_once_per_request(format!(
        "<!doctype html><title>host</title><iframe id=f src='{}'></iframe>",
        app.url("/d/digital-trust")
    ))
    .await;
    browser.client.enter_parent_frame().await.unwrap();
    browser.open(&host).await;
    assert!(
        browser
            .wait_for("return !!document.getElementById('f');")
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.client.enter_frame(0).await.unwrap();
    let framed = browser
        .run("return !!document.querySelector('form.controls');")
        .await;
    assert_eq!(
        framed,
        json!(false),
        "the dashboard rendered inside a frame"
    );
    browser.close().await;
}

/// A one-page site on its own port (so another origin), answering `html` to
/// every request.
async fn serve_once_per_request(html: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    url
}

#[tokio::test]
async fn no_page_has_a_wcag_2_1_aa_violation() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    trustpulse::db::seed::load_demo(&mut app.store.get().unwrap(), 1_000, 2, |_| {}).unwrap();
    let Some(browser) = Browser::start(1280, 900, false).await else {
        return;
    };
    if std::env::var("AXE_CORE_JS").is_err() {
        say(
            "accessibility check SKIPPED: set AXE_CORE_JS to axe-core's axe.min.js (npm install axe-core)",
        );
        browser.close().await;
        return;
    }
    // The check finds what it is for: an image without alt text.
    let broken = serve_once_per_request(
        "<!doctype html><html lang=en><title>t</title><main><img src='x.png'></main></html>".into(),
    )
    .await;
    browser.open(&broken).await;
    let violations = browser.accessibility_violations().await.unwrap();
    assert!(
        violations.iter().any(|v| v["id"] == "image-alt"),
        "axe-core did not run: {violations:?}"
    );
    let mut found = Vec::new();
    for path in [
        "/?lang=en",
        "/d/digital-trust?lang=en&by=settlement",
        "/d/digital-trust?lang=ru&question=concerns",
        "/embed/digital-trust/portal_trust?lang=en&metric=top2",
        "/s/digital-trust?lang=en",
        "/s/digital-trust?lang=ru",
    ] {
        browser.open(&app.url(path)).await;
        let violations = browser.accessibility_violations().await.unwrap();
        if !violations.is_empty() {
            found.push(format!("{path}: {}", Value::Array(violations)));
        }
    }
    browser.close().await;
    assert!(found.is_empty(), "{}", found.join("\n"));
}
