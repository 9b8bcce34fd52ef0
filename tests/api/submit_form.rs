//! `GET /s/{slug}` and `POST /s/{slug}`: the questionnaire as a plain HTML form.

use trustpulse::db;
use trustpulse::survey::Status;

use crate::helpers::*;
use crate::on_both_stores;

const FORM: &str = "/s/digital-trust";

on_both_stores! {
    async fn the_form_speaks_russian_by_default_and_english_by_query_or_header(app) {
        app.with_demo_survey();
        let res = app.get(FORM).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["vary"], "Accept-Language");
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<html lang="ru">"#));
        assert!(html.contains("Доверие к цифровым госуслугам"));
        assert!(html.contains(r#"href="/s/digital-trust?lang=en""#), "a visible language switch");

        let html = app.get("/s/digital-trust?lang=en").await.text().await.unwrap();
        assert!(html.contains(r#"<html lang="en">"#));
        assert!(html.contains("Trust in digital government services"));

        let res = app.client.get(app.url(FORM)).header("accept-language", "en-US,en;q=0.9").send().await.unwrap();
        assert!(res.text().await.unwrap().contains(r#"<html lang="en">"#));
        let res = app.client.get(app.url("/s/digital-trust?lang=ru")).header("accept-language", "en").send().await.unwrap();
        assert!(res.text().await.unwrap().contains(r#"<html lang="ru">"#));
    }

    async fn the_form_is_light_accessible_and_promises_privacy(app) {
        app.with_demo_survey();
        let html = app.get("/s/digital-trust?lang=en").await.text().await.unwrap();
        let css = app.get("/assets/site.css").await.text().await.unwrap();
        assert!(html.len() + css.len() < 30 * 1024, "page weight {} + {}", html.len(), css.len());
        assert!(!html.contains("<script"), "no JavaScript");
        assert!(html.contains(r#"name="viewport" content="width=device-width"#));
        assert_eq!(html.matches("<fieldset").count(), 11, "one fieldset per question");
        assert_eq!(html.matches("<legend>").count(), 11);
        // Every radio and checkbox sits inside its label.
        assert_eq!(html.matches(r#"<label class="c"#).count(), html.matches("<input type=\"radio\"").count() + html.matches("<input type=\"checkbox\"").count());
        assert!(html.contains(r#"<label class="sr" for="f-comment">"#));
        assert!(html.contains("We do not store your IP address, device data or the exact time"));
        assert!(css.contains("min-height:44px"), "tap targets fit a finger");
    }

    async fn every_render_carries_its_own_submission_id(app) {
        app.with_demo_survey();
        let a = app.render_form(FORM).await;
        let b = app.render_form(FORM).await;
        assert_ne!(a.submission_id, b.submission_id);
        assert_ne!(a.form_token, b.form_token);
        uuid::Uuid::parse_str(&a.submission_id).unwrap();
    }

    async fn a_valid_form_redirects_to_thanks_and_a_double_click_stores_once(app) {
        let survey_id = app.with_demo_survey();
        let form = app.render_form(FORM).await;
        let fields = [
            ("submission_id", form.submission_id.as_str()), ("form_token", form.form_token.as_str()),
            ("lang", "en"), ("portal_account", "active"),
            ("portal_trust", "5"), ("concerns", "data_leak"), ("concerns", "hard_to_use"), ("comment", ""),
        ];
        for _ in 0..2 {
            let res = app.post_form(FORM, &fields).await;
            assert_eq!(res.status(), 303);
            assert_eq!(res.headers()["location"], "/s/digital-trust/thanks?lang=en");
        }
        assert_eq!(app.response_count(survey_id), 1);
        let thanks = app.get("/s/digital-trust/thanks?lang=en").await;
        assert_eq!(thanks.status(), 200);
        assert!(thanks.text().await.unwrap().contains("Thank you!"));
    }

    async fn an_invalid_form_comes_back_with_every_value_kept_and_errors_beside_questions(app) {
        let survey_id = app.with_demo_survey();
        let form = app.render_form(FORM).await;
        let sid = form.submission_id.clone();
        let res = app.post_form(FORM, &[
            ("submission_id", sid.as_str()), ("form_token", form.form_token.as_str()), ("lang", "en"),
            ("leak_worry", "2"), ("concerns", "none"), ("concerns", "surveillance"),
            ("summons_effect", "less"), ("comment", "keep <this> & that"),
        ]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains(r#"<p class="err" id="e-portal_account">Please answer this question.</p>"#));
        assert!(html.contains(r#"<p class="err" id="e-portal_trust">Please answer this question.</p>"#));
        assert!(html.contains(r#"<p class="err" id="e-concerns">"#));
        assert!(html.contains(r#"name="leak_worry" value="2" checked"#));
        assert!(html.contains(r#"name="concerns" value="none" checked"#));
        assert!(html.contains(r#"name="concerns" value="surveillance" checked"#));
        assert!(html.contains(r#"name="summons_effect" value="less" checked"#));
        assert!(html.contains("keep &#60;this&#62; &#38; that") || html.contains("keep &lt;this&gt; &amp; that"));
        assert!(html.contains(&sid), "the same form keeps its submission id");
        assert!(html.contains(r##"<a href="#q-portal_account">"##), "a summary links to each problem");
        assert_eq!(app.response_count(survey_id), 0);

        // Corrected, the form it came back as goes through.
        let again_token = hidden_field(&html, "form_token").unwrap();
        let res = app.post_form(FORM, &[
            ("submission_id", sid.as_str()), ("form_token", again_token.as_str()), ("lang", "en"), ("portal_account", "never"), ("portal_trust", "1"),
            ("leak_worry", "2"), ("concerns", "surveillance"), ("comment", "keep <this> & that"),
        ]).await;
        assert_eq!(res.status(), 303);
        assert_eq!(app.response_count(survey_id), 1);
    }

    async fn a_closed_survey_says_so_on_the_form(app) {
        let survey_id = app.with_demo_survey();
        let form = app.render_form(FORM).await;
        db::surveys::set_status(&mut app.store.get().unwrap(), survey_id, Status::Closed).unwrap();
        let res = app.get("/s/digital-trust?lang=en").await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("This survey is closed"));
        let res = app.post_form(FORM, &[
            ("submission_id", form.submission_id.as_str()), ("form_token", form.form_token.as_str()),
            ("lang", "en"), ("portal_account", "active"), ("portal_trust", "3"),
        ]).await;
        assert_eq!(res.status(), 409);
        assert_eq!(app.response_count(survey_id), 0);
    }

    async fn an_unknown_survey_page_is_404(app) {
        let res = app.get("/s/no-such-survey").await;
        assert_eq!(res.status(), 404);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }

    async fn a_form_over_the_size_limit_is_413_with_an_explanation(app) {
        let survey_id = app.with_demo_survey();
        let long = "x".repeat(70_000);
        let res = app.post_form("/s/digital-trust", &[("lang", "en"), ("portal_account", "active"), ("comment", &long)]).await;
        assert_eq!(res.status(), 413);
        assert!(res.text().await.unwrap().contains("превышает 64 КБ"), "explained in the default language");
        assert_eq!(app.response_count(survey_id), 0);
    }

    async fn a_form_in_another_encoding_is_415(app) {
        app.with_demo_survey();
        let res = app.client.post(app.url(FORM)).header("content-type", "multipart/form-data; boundary=x")
            .body("--x--").send().await.unwrap();
        assert_eq!(res.status(), 415);
    }
}
