//! Researchers' microdata export: columns, order, weights, filters, text and
//! spreadsheet safety, access — on both stores.

use trustpulse::auth::Role;
use trustpulse::db;

use crate::helpers::*;
use crate::on_both_stores;

const CSV: &str = "/api/v1/surveys/digital-trust/responses.csv";

impl TestApp {
    async fn microdata(&self, query: &str) -> (u16, String) {
        let token = self.token(Role::Researcher);
        let res = self
            .client
            .get(self.url(&format!("{CSV}?{query}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

fn rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn header(text: &str) -> Vec<String> {
    csv::Reader::from_reader(text.as_bytes())
        .headers()
        .unwrap()
        .iter()
        .map(String::from)
        .collect()
}

on_both_stores! {
    async fn microdata_lists_responses_by_date_then_id_with_their_final_weights(app) {
        let survey_id = app.with_demo_survey();
        db::targets::replace(&mut app.store.get().unwrap(), survey_id,
            &serde_json::from_value(json!({"settlement": {"city": 0.5, "town": 0.5}})).unwrap(), None).unwrap();
        for _ in 0..20 { app.store("2024-01-10", json!({"portal_account": "active", "portal_trust": 5, "settlement": "city"}), 1.0); }
        for _ in 0..10 { app.store("2024-01-11", json!({"portal_account": "deleted", "portal_trust": 1, "settlement": "town", "concerns": ["data_leak", "surveillance"]}), 1.0); }
        app.store("2023-12-31", json!({"portal_account": "never", "portal_trust": "dk", "comment": "=cmd|' /C calc'!A0"}), 2.5);
        let (status, text) = app.microdata("").await;
        assert_eq!(status, 200, "{text}");
        let head = header(&text);
        assert_eq!(head[..8], ["response_id", "submitted_date", "wave", "lang", "base_weight", "weight", "portal_account", "portal_trust"]);
        assert!(!head.contains(&"comment".to_string()), "free text only when asked for");
        let rows = rows(&text);
        assert_eq!(rows.len(), 31);
        let keys: Vec<(String, String)> = rows.iter().map(|r| (r[1].clone(), r[0].clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "date, then id");
        let col = |name: &str| head.iter().position(|h| h == name).unwrap();
        // December has no targets' categories to rake: base weight; January
        // is raked 50/50: city 0.75, town 1.5 (mean 1 over its 30).
        assert_eq!((rows[0][col("base_weight")].as_str(), rows[0][col("weight")].as_str()), ("2.500000", "2.500000"));
        for r in &rows[1..] {
            let expected = if r[col("portal_account")] == "active" { "0.750000" } else { "1.500000" };
            assert_eq!(r[col("weight")], expected);
        }
        let town = rows.iter().find(|r| r[col("portal_account")] == "deleted").unwrap();
        assert_eq!((town[col("concerns__data_leak")].as_str(), town[col("concerns__none")].as_str()), ("1", "0"));
        assert_eq!(rows[0][col("concerns__data_leak")], "", "no answer, no zero");
        assert_eq!(rows[0][col("portal_trust")], "dk");
    }

    async fn microdata_filters_adds_text_when_asked_and_escapes_what_a_spreadsheet_would_run(app) {
        app.with_demo_survey();
        app.store("2024-01-10", json!({"portal_account": "active", "portal_trust": 4, "comment": "=HYPERLINK(\"http://x\")"}), 1.0);
        app.store("2024-02-10", json!({"portal_account": "active", "portal_trust": 2, "comment": "plain, with a comma"}), 1.0);
        let (status, text) = app.microdata("include_text=true&from=2024-01-01&to=2024-01-31").await;
        assert_eq!(status, 200);
        let head = header(&text);
        let rows = rows(&text);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][head.iter().position(|h| h == "comment").unwrap()], "'=HYPERLINK(\"http://x\")");
        let (_, all) = app.microdata("include_text=true").await;
        assert!(all.contains("\"plain, with a comma\""), "{all}");
        for (query, field) in [("from=2024-13-01", "from"), ("wave=nope", "wave"), ("include_text=yes", "include_text"), ("colour=red", "colour"), ("from=2024-02-01&to=2024-01-01", "from")] {
            let (status, body) = app.microdata(query).await;
            assert_eq!(status, 422, "{query}");
            assert!(body.contains(&format!("\"field\":\"{field}\"")), "{query}: {body}");
        }
    }

    async fn microdata_needs_a_researcher_token(app) {
        app.with_demo_survey();
        let res = app.get(CSV).await;
        assert_eq!(res.status(), 401);
        let res = app.client.get(app.url("/api/v1/surveys/nope/responses.csv")).bearer_auth(app.token(Role::Researcher)).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let res = app.client.get(app.url(CSV)).bearer_auth(app.token(Role::Admin)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"].to_str().unwrap().contains("digital-trust-responses-"));
        assert_eq!(res.headers()["cache-control"], "private, no-store");
    }
}

on_both_stores! {
    async fn microdata_of_many_pages_keeps_every_row_once_in_order(app) {
        // 12,345 rows: three pages formatted on two threads, taken back in turn.
        db::seed::load_demo(&mut app.store.get().unwrap(), 12_345, 5, |_| {}).unwrap();
        let (status, text) = app.microdata("").await;
        assert_eq!(status, 200);
        let rows = rows(&text);
        assert_eq!(rows.len(), 12_345);
        let keys: Vec<(&str, &str)> = rows.iter().map(|r| (r[1].as_str(), r[0].as_str())).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "date then id, each once");
        let (_, half) = app.microdata("from=2023-01-01&to=2023-06-30").await;
        let half = crate::exports::rows(&half);
        assert!(half.len() > 2_000 && half.len() < 4_000, "{}", half.len());
        assert!(half.iter().all(|r| ("2023-01-01".."2023-07-01").contains(&r[1].as_str())));
    }
}
