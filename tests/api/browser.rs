//! The questionnaire in a real browser on a 360 px wide screen: Debian's
//! Chromium driven through chromedriver (WebDriver over HTTP). Skipped, and
//! said so, where chromedriver is not installed.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(width: u32, height: u32) -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists()
        {
            let _ = writeln!(
                std::io::stderr(),
                "\n*** browser test SKIPPED: apt-get install -y chromium chromium-driver ***\n"
            );
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
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args, "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}}}}}});
        let res: Value = client
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {res}"))
            .to_string();
        Some(Browser {
            driver,
            base,
            session,
            client,
            _profile: profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let res: Value = request.send().await.unwrap().json().await.unwrap();
        res["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn run(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    async fn click(&self, css: &str) {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        let id = found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string();
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test]
async fn on_a_360_px_phone_the_form_fits_has_finger_sized_choices_and_submits_without_script() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let survey_id = app.with_demo_survey();
    let Some(browser) = Browser::start(360, 740).await else {
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
    for _ in 0..50 {
        if browser.url().await.contains("/thanks") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = browser.url().await;
    let page = browser
        .run("return document.body.innerText.slice(0, 400);")
        .await;
    assert!(
        url.ends_with("/s/digital-trust/thanks?lang=en"),
        "{url}: {page}"
    );
    assert_eq!(app.response_count(survey_id), 1);
    browser.call(reqwest::Method::DELETE, "", Value::Null).await;
}
