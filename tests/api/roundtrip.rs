//! Exports and import, end to end: the CLI writes the same bytes as HTTP,
//! an export imported into a fresh store exports the same bytes again with
//! the same series, a second import adds nothing, bad files store nothing and
//! say why by line; the codebook and the data package — on both stores.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::Output;

use chrono::NaiveDate;
use trustpulse::analysis::service::{self, Reader};
use trustpulse::auth::Role;
use trustpulse::db;
use trustpulse::submission;
use trustpulse::survey::{Lang, answers};

use crate::helpers::*;
use crate::on_both_stores;

const SLUG: &str = "digital-trust";

/// Runs the built binary on a store.
pub fn cli(store: &TestStore, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_trustpulse"))
        .arg("--database-url")
        .arg(store.url_string())
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

impl TestApp {
    async fn download(&self, path: &str) -> (u16, Vec<u8>) {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(self.token(Role::Researcher))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
    }
}

/// The demo definition with targets and one wave, in `conn`'s store.
fn prepare_survey(conn: &mut db::DbConnection) -> i32 {
    let id = db::seed::ensure_demo_survey(conn).unwrap();
    db::surveys::insert_wave(
        conn,
        id,
        "spring-2024",
        day("2024-03-01"),
        day("2024-05-31"),
    )
    .unwrap();
    id
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Responses with everything an export must carry: base weights, waves,
/// languages, dk, multi-choice, and text a spreadsheet would run.
fn store_responses(conn: &mut db::DbConnection) {
    let survey = db::surveys::find_by_slug(conn, SLUG).unwrap().unwrap();
    let wave = db::surveys::waves(conn, survey.id).unwrap()[0].id;
    let texts = [
        "=SUM(A1:A9)",
        "'quoted already",
        "line one\nline two, with \"quotes\"",
        "+7 999 000",
        "Обычный текст",
    ];
    for i in 0..240u32 {
        let date = day("2024-01-01") + chrono::Duration::days(i64::from(i % 150));
        let in_wave = (day("2024-03-01")..=day("2024-05-31")).contains(&date);
        let account = ["active", "deleted", "never"][(i % 3) as usize];
        let trust = if i % 11 == 0 {
            json!("dk")
        } else {
            json!(1 + i % 5)
        };
        let age = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+", "na"][(i % 7) as usize];
        let region = ["central", "volga", "ural"][(i % 3) as usize];
        let settlement = ["city", "town", "village"][(i % 4 % 3) as usize];
        let mut answers = json!({
            "portal_account": account,
            "portal_trust": trust,
            "age_band": age,
            "region": region,
            "settlement": settlement,
        });
        if i % 4 != 0 {
            answers["concerns"] = if i % 9 == 0 {
                json!(["none"])
            } else {
                json!(["data_leak", "surveillance"][..(1 + i as usize % 2)])
            };
        }
        if i % 5 == 0 {
            answers["comment"] = json!(texts[(i / 5) as usize % texts.len()]);
        }
        let valid = answers::validate(&survey.definition, answers.as_object().unwrap()).unwrap();
        let weight = [1.0, 0.5, 2.25, 1.333333][(i % 4) as usize];
        let lang = if i % 6 == 0 { Lang::En } else { Lang::Ru };
        submission::store_dated(
            conn,
            &survey,
            date,
            in_wave.then_some(wave),
            lang,
            &valid,
            weight,
        )
        .unwrap();
    }
}

/// The series of the store for a few queries (exact, researcher view).
fn series(conn: &mut db::DbConnection) -> Vec<serde_json::Value> {
    let loaded = service::load(conn, SLUG).unwrap();
    let reader = Reader::new(&loaded, false, 10);
    let queries = [
        "question=portal_trust&interval=month",
        "question=portal_trust&interval=week&by=settlement&weighted=false",
        "question=concerns&metric=share&option=data_leak&interval=month&by=region",
        "question=portal_account&metric=share&option=deleted&interval=day",
    ];
    queries
        .iter()
        .map(|q| {
            let query: HashMap<String, String> = serde_urlencoded::from_str(q).unwrap();
            serde_json::to_value(reader.series_json(conn, &query).unwrap().points).unwrap()
        })
        .collect()
}

/// Two series agree to rounding in the last bits (sums may add in another order).
fn assert_same_series(a: &[serde_json::Value], b: &[serde_json::Value]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_array().unwrap(), y.as_array().unwrap());
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            for (key, value) in p.as_object().unwrap() {
                match (value.as_f64(), q[key].as_f64()) {
                    (Some(u), Some(v)) => assert!(
                        (u - v).abs() <= 1e-9 * u.abs().max(1.0),
                        "{key}: {u} vs {v}"
                    ),
                    _ => assert_eq!(value, &q[key], "{key}"),
                }
            }
        }
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

on_both_stores! {
    async fn exports_round_trip_through_import_byte_for_byte(app) {
        let mut conn = app.store.get().unwrap();
        let id = prepare_survey(&mut conn);
        db::targets::replace(&mut conn, id, &trustpulse::survey::demo::targets(), Some("census")).unwrap();
        store_responses(&mut conn);
        let (status, http) = app.download(&format!("/api/v1/surveys/{SLUG}/responses.csv?include_text=true")).await;
        assert_eq!(status, 200);
        let text = String::from_utf8(http.clone()).unwrap();
        assert!(text.contains("'=SUM(A1:A9)") && text.contains("''quoted already"), "escaped");
        assert!(text.contains(",spring-2024,"), "wave labels");

        // The CLI writes the same bytes.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("responses.csv");
        let out = cli(&app.test_store, &["export", "responses", "--survey", SLUG, "--out", file.to_str().unwrap(), "include_text=true"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(std::fs::read(&file).unwrap(), http, "CLI and HTTP bytes");

        // Into a fresh store with the same definition, waves and targets.
        let fresh = TestStore::new(app.test_store.backend()).unwrap();
        let second = trustpulse::db::Store::open(&fresh.url).unwrap();
        let mut conn2 = second.get().unwrap();
        let id2 = prepare_survey(&mut conn2);
        db::targets::replace(&mut conn2, id2, &trustpulse::survey::demo::targets(), Some("census")).unwrap();
        let out = cli(&fresh, &["import", "--survey", SLUG, file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("imported 240 responses"), "{}", stderr(&out));
        let again = dir.path().join("again.csv");
        let out = cli(&fresh, &["export", "responses", "--survey", SLUG, "--out", again.to_str().unwrap(), "include_text=true"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(std::fs::read(&again).unwrap(), http, "export → import → export gives the same bytes");
        assert_same_series(&series(&mut conn), &series(&mut conn2));
        let survey2 = db::surveys::find_by_slug(&mut conn2, SLUG).unwrap().unwrap();
        let kept = db::aggregates::stored(&mut conn2, id2).unwrap();
        let scratch = db::aggregates::scan(&mut conn2, id2, &survey2.definition).unwrap();
        assert_eq!(kept.piece_rows().len(), scratch.piece_rows().len(), "aggregates exact");
        for (a, b) in kept.entries().iter().zip(scratch.entries()) {
            assert_eq!((&a.0, a.1, a.4), (&b.0, b.1, b.4));
            assert!((a.2 - b.2).abs() < 1e-9);
        }

        // A second run adds nothing.
        let out = cli(&fresh, &["import", "--survey", SLUG, file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("imported 0 responses") && stderr(&out).contains("240 already stored"), "{}", stderr(&out));
        assert_eq!(db::responses::count(&mut conn2, id2).unwrap(), 240);
    }

    async fn a_file_with_bad_rows_stores_nothing_and_names_each_line(app) {
        let mut conn = app.store.get().unwrap();
        let id = prepare_survey(&mut conn);
        let dir = tempfile::tempdir().unwrap();
        let header = "response_id,submitted_date,wave,lang,base_weight,portal_account,portal_trust,comment";
        let good = "2024-01-05,,ru,1,active,3,\"two\nlines\"";
        let body = format!(
            "{header}\n,{good}\n,2024-01-06,,ru,1,maybe,3,\n,2024-01-07,,xx,1,active,9,\n,{good}\n,2024-01-08,,ru,0,active,4,\n,2024-04-02,spring-2024,ru,1,active,4,\n,2024-06-02,spring-2024,ru,1,active,4,\n"
        );
        let path = write(dir.path(), "bad.csv", body.as_bytes());
        let out = cli(&app.test_store, &["import", "--survey", SLUG, &path]);
        assert!(!out.status.success());
        let err = stderr(&out);
        // Line numbers count the header as 1 and a quoted newline as a line.
        assert!(err.contains("line 4: portal_account: unknown_option"), "{err}");
        assert!(err.contains("line 5: lang: \"xx\" is not ru or en"), "{err}");
        assert!(err.contains("line 5: lang") && err.contains("portal_trust: out_of_range"), "{err}");
        assert!(err.contains("line 8: base_weight"), "{err}");
        assert!(err.contains("line 10: wave: 2024-06-02 is outside wave \"spring-2024\""), "{err}");
        assert!(!err.contains("line 2:") && !err.contains("line 9:"), "good rows are not listed: {err}");
        assert!(err.contains("4 bad row(s)") && err.contains("nothing was stored"), "{err}");
        assert_eq!(db::responses::count(&mut conn, id).unwrap(), 0);

        for (name, bytes, expected) in [
            ("empty.csv", &b""[..], "empty"),
            ("header.csv", &b"submitted_date,colour\n2024-01-01,red\n"[..], "unknown column \"colour\""),
            ("latin1.csv", &b"submitted_date,portal_account,portal_trust,comment\n2024-01-01,active,3,caf\xe9\n"[..], "not UTF-8"),
            ("ragged.csv", &b"submitted_date,portal_account,portal_trust\n2024-01-01,active\n"[..], "line 2: 2 fields where the header has 3"),
            ("quotes.csv", &b"submitted_date,portal_account,portal_trust\n2024-01-01,\"active,3\n"[..], "fields where the header has 3"),
        ] {
            let path = write(dir.path(), name, bytes);
            let out = cli(&app.test_store, &["import", "--survey", SLUG, &path]);
            let err = stderr(&out);
            assert!(!out.status.success(), "{name}");
            assert!(err.contains(expected), "{name}: {err}");
            assert!(!err.contains("panicked"), "{name}: {err}");
        }
        assert_eq!(db::responses::count(&mut conn, id).unwrap(), 0);
        let out = cli(&app.test_store, &["import", "--survey", "nope", &path]);
        assert!(stderr(&out).contains("no survey \"nope\""), "{}", stderr(&out));
    }

    async fn the_codebook_describes_every_column_for_researchers(app) {
        let mut conn = app.store.get().unwrap();
        let id = prepare_survey(&mut conn);
        db::targets::replace(&mut conn, id, &trustpulse::survey::demo::targets(), Some("2021 census")).unwrap();
        store_responses(&mut conn);
        assert_eq!(app.get(&format!("/api/v1/surveys/{SLUG}/codebook.json")).await.status(), 401);
        let (status, json) = app.download(&format!("/api/v1/surveys/{SLUG}/codebook.json")).await;
        assert_eq!(status, 200);
        let book: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let (_, csv) = app.download(&format!("/api/v1/surveys/{SLUG}/responses.csv?include_text=true")).await;
        let header: Vec<String> = csv::Reader::from_reader(&csv[..]).headers().unwrap().iter().map(String::from).collect();
        let names: Vec<&str> = book["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, header);
        assert_eq!(book["weighting"]["source"], "2021 census");
        assert_eq!(book["waves"][0]["label"], "spring-2024");
        let (status, table) = app.download(&format!("/api/v1/surveys/{SLUG}/codebook.csv")).await;
        assert_eq!(status, 200);
        let text = String::from_utf8(table).unwrap();
        assert!(text.starts_with("column,question,kind,role,text_ru,text_en,cell,code,value,label_ru,label_en,non_substantive"));
        assert!(text.contains("portal_trust,portal_trust,scale,item,"));
        assert!(text.contains(",dk,dk,,"), "dk has no number: {text}");
        let out = cli(&app.test_store, &["export", "codebook", "--survey", SLUG]);
        assert_eq!(String::from_utf8(out.stdout).unwrap(), text, "CLI and HTTP bytes");
        let (status, _) = app.download(&format!("/api/v1/surveys/{SLUG}/codebook.csv?x=1")).await;
        assert_eq!(status, 422);
    }

    async fn the_data_package_holds_every_file_with_a_schema_each(app) {
        let mut conn = app.store.get().unwrap();
        let id = prepare_survey(&mut conn);
        db::targets::replace(&mut conn, id, &trustpulse::survey::demo::targets(), Some("census")).unwrap();
        store_responses(&mut conn);
        assert_eq!(app.get(&format!("/api/v1/surveys/{SLUG}/datapackage.zip")).await.status(), 401);
        let (status, zipped) = app.download(&format!("/api/v1/surveys/{SLUG}/datapackage.zip")).await;
        assert_eq!(status, 200);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped.clone())).unwrap();
        let mut read = |name: &str| {
            let mut text = String::new();
            archive.by_name(name).unwrap_or_else(|_| panic!("{name}")).read_to_string(&mut text).unwrap();
            text
        };
        let descriptor: serde_json::Value = serde_json::from_str(&read("datapackage.json")).unwrap();
        let (_, microdata) = app.download(&format!("/api/v1/surveys/{SLUG}/responses.csv")).await;
        assert_eq!(read("responses.csv").as_bytes(), &microdata[..], "the package's microdata is the export");
        assert!(read("README.md").contains("## Citation"));
        assert!(read("codebook.csv").contains("portal_trust"));
        let trust = read("series/portal_trust.csv");
        assert!(trust.starts_with("survey,question,metric"), "{trust}");
        assert!(trust.contains(",mean,"));
        let account = read("series/portal_account.csv");
        for option in ["active", "deleted", "never"] {
            assert!(account.contains(&format!(",share,{option},")), "{account}");
        }
        assert_eq!(account.matches("survey,question").count(), 1, "one header");
        for resource in descriptor["resources"].as_array().unwrap() {
            let path = resource["path"].as_str().unwrap();
            let text = read(path);
            let header: Vec<String> = csv::Reader::from_reader(text.as_bytes()).headers().unwrap().iter().map(String::from).collect();
            let fields: Vec<&str> = resource["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
            assert_eq!(header, fields, "{path}: the schema names every column in order");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("package.zip");
        let out = cli(&app.test_store, &["export", "datapackage", "--survey", SLUG, "--out", file.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(std::fs::read(&file).unwrap(), zipped, "CLI and HTTP bytes");
    }
}
