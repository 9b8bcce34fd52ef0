//! Server-rendered pages for respondents: the questionnaire, the thank-you
//! page and short message pages. Pure view models over askama templates.

use askama::Template;
use serde_json::{Map, Value};

use crate::submission::Refusal;
use crate::survey::answers::AnswerProblem;
use crate::survey::{Lang, QuestionKind, Survey};

/// Interface texts in one language.
pub struct Texts {
    pub privacy: &'static str,
    pub synthetic: &'static str,
    pub fix_errors: &'static str,
    pub required: &'static str,
    pub submit: &'static str,
    pub text_hint: &'static str,
    pub language_name: &'static str,
}

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ru => &Texts {
            privacy: "Опрос анонимный. Мы не сохраняем ваш IP-адрес, данные об устройстве и точное время ответа — только дату.",
            synthetic: "Это демонстрационный опрос: графики и выгрузки по нему построены на синтетических (сгенерированных) ответах.",
            fix_errors: "Пожалуйста, исправьте ответы:",
            required: "обязательный вопрос",
            submit: "Отправить",
            text_hint: "Не более {} символов.",
            language_name: "Русский",
        },
        Lang::En => &Texts {
            privacy: "This survey is anonymous. We do not store your IP address, device data or the exact time of your answer, only the date.",
            synthetic: "This is a demo survey: its charts and downloads are built from synthetic (generated) responses.",
            fix_errors: "Please correct these answers:",
            required: "required question",
            submit: "Submit",
            text_hint: "Up to {} characters.",
            language_name: "English",
        },
    }
}

pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub checked: bool,
    /// Non-substantive ("don't know"), shown apart from the scale.
    pub extra: bool,
}

pub struct QuestionView {
    pub code: String,
    pub number: usize,
    pub prompt: String,
    pub required: bool,
    pub kind: &'static str,
    pub input: &'static str,
    pub choices: Vec<ChoiceView>,
    pub anchor_low: String,
    pub anchor_high: String,
    pub text: String,
    pub max_length: usize,
    pub hint: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "form.html")]
pub struct FormPage {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub switch_href: String,
    pub title: String,
    pub description: String,
    pub t: &'static Texts,
    pub synthetic: bool,
    pub banner: Option<String>,
    /// (question code, prompt, message) for the summary at the top.
    pub errors: Vec<(String, String, String)>,
    pub action: String,
    pub submission_id: String,
    pub form_token: String,
    pub invitation: Option<String>,
    pub questions: Vec<QuestionView>,
}

/// What a form shows: empty, or the typed values with the problems found.
pub struct FormState<'a> {
    pub lang: Lang,
    pub submission_id: String,
    /// Binds this render's submission id to the survey (see `auth::form_token`).
    pub form_token: String,
    /// The invitation code the form answers, for a survey taken by invitation.
    pub invitation: Option<String>,
    /// Answers as typed (the JSON shape of `answers::from_form`).
    pub values: &'a Map<String, Value>,
    pub problems: &'a [AnswerProblem],
    pub banner: Option<String>,
}

fn is_chosen(value: Option<&Value>, code: &str) -> bool {
    match value {
        Some(Value::String(s)) => s == code,
        Some(Value::Number(n)) => n.to_string() == code,
        Some(Value::Bool(b)) => (if *b { "yes" } else { "no" }) == code,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(code)),
        _ => false,
    }
}

impl FormPage {
    pub fn new(survey: &Survey, state: FormState<'_>) -> Self {
        let lang = state.lang;
        let def = &survey.definition;
        let t = texts(lang);
        let questions = def
            .questions
            .iter()
            .filter(|q| !q.retired)
            .enumerate()
            .map(|(i, q)| {
                let value = state.values.get(&q.code);
                let choice = |value_code: String, label: String, extra: bool| ChoiceView {
                    checked: is_chosen(value, &value_code),
                    value: value_code,
                    label,
                    extra,
                };
                let mut choices: Vec<ChoiceView> = match q.kind {
                    QuestionKind::Scale => q
                        .scale
                        .iter()
                        .flat_map(|s| s.min..=s.max)
                        .map(|v| choice(v.to_string(), v.to_string(), false))
                        .collect(),
                    QuestionKind::YesNo => {
                        let (yes, no) = match lang {
                            Lang::Ru => ("Да", "Нет"),
                            Lang::En => ("Yes", "No"),
                        };
                        vec![
                            choice("yes".into(), yes.into(), false),
                            choice("no".into(), no.into(), false),
                        ]
                    }
                    _ => Vec::new(),
                };
                choices.extend(q.options.iter().map(|o| {
                    let extra = q.kind == QuestionKind::Scale;
                    choice(o.code.clone(), o.label.get(lang).to_string(), extra)
                }));
                let error = state
                    .problems
                    .iter()
                    .find(|p| p.question == q.code)
                    .map(|p| p.problem.message(lang, Some(q)));
                QuestionView {
                    code: q.code.clone(),
                    number: i + 1,
                    prompt: q.prompt.get(lang).to_string(),
                    required: q.required,
                    kind: q.kind.as_str(),
                    input: if q.kind == QuestionKind::MultiChoice {
                        "checkbox"
                    } else {
                        "radio"
                    },
                    choices,
                    anchor_low: q
                        .scale
                        .as_ref()
                        .map(|s| s.low.get(lang).to_string())
                        .unwrap_or_default(),
                    anchor_high: q
                        .scale
                        .as_ref()
                        .map(|s| s.high.get(lang).to_string())
                        .unwrap_or_default(),
                    text: value
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    max_length: q.text_limit(),
                    hint: t.text_hint.replace("{}", &q.text_limit().to_string()),
                    error,
                }
            })
            .collect::<Vec<_>>();
        let errors = questions
            .iter()
            .filter_map(|q| {
                q.error
                    .clone()
                    .map(|e| (q.code.clone(), q.prompt.clone(), e))
            })
            .collect();
        let other = lang.other();
        FormPage {
            lang: lang.as_str(),
            other_lang: other.as_str(),
            other_lang_name: texts(other).language_name,
            switch_href: match &state.invitation {
                Some(code) => format!(
                    "/s/{}?lang={}&i={}",
                    def.slug,
                    other.as_str(),
                    form_urlencode(code)
                ),
                None => format!("/s/{}?lang={}", def.slug, other.as_str()),
            },
            title: def.title.get(lang).to_string(),
            description: def.description.get(lang).to_string(),
            t,
            synthetic: survey.synthetic,
            banner: state.banner,
            errors,
            action: format!("/s/{}", def.slug),
            submission_id: state.submission_id,
            form_token: state.form_token,
            invitation: state.invitation,
            questions,
        }
    }
}

fn form_urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// Why a submission was refused, in the respondent's language.
pub fn refusal_text(refusal: &Refusal, lang: Lang) -> String {
    let ru = lang == Lang::Ru;
    match refusal {
        Refusal::Closed => if ru {
            "Этот опрос закрыт и сейчас не принимает ответы."
        } else {
            "This survey is closed and is not taking responses."
        }
        .into(),
        Refusal::NoOpenWave {
            next_opens: Some(d),
        } => {
            if ru {
                format!("Сейчас опрос не проводится. Следующая волна начнётся {d}.")
            } else {
                format!("The survey is not running now. The next wave opens on {d}.")
            }
        }
        Refusal::NoOpenWave { next_opens: None } => if ru {
            "Сейчас опрос не проводится."
        } else {
            "The survey is not running now."
        }
        .into(),
        Refusal::InvitationRequired => if ru {
            "Этот опрос только по приглашениям: откройте ссылку из вашего приглашения."
        } else {
            "This survey is by invitation only: open the link from your invitation."
        }
        .into(),
        Refusal::InvitationUnknown => if ru {
            "Код приглашения не найден. Проверьте ссылку из приглашения."
        } else {
            "This invitation code is not known. Please check the link in your invitation."
        }
        .into(),
        Refusal::InvitationSpent => if ru {
            "По этому приглашению уже ответили. Спасибо!"
        } else {
            "This invitation has already been used to answer. Thank you!"
        }
        .into(),
        Refusal::InvitationWrongWave => if ru {
            "Это приглашение относится к другой волне опроса."
        } else {
            "This invitation belongs to another wave of the survey."
        }
        .into(),
        Refusal::Invalid(_) => if ru {
            "Пожалуйста, исправьте ответы."
        } else {
            "Please correct your answers."
        }
        .into(),
        Refusal::Unavailable(_) => if ru {
            "Сервис временно не может сохранить ответы. Попробуйте через минуту."
        } else {
            "The service cannot save answers just now. Please try again in a minute."
        }
        .into(),
        Refusal::Store(_) => if ru {
            "Не удалось сохранить ответы. Попробуйте ещё раз."
        } else {
            "Your answers could not be saved. Please try again."
        }
        .into(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub lang: &'static str,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// (href, text)
    pub link: Option<(String, String)>,
}

impl MessagePage {
    pub fn thanks(survey: &Survey, lang: Lang) -> Self {
        let title = survey.definition.title.get(lang).to_string();
        let (heading, body) = match lang {
            Lang::Ru => (
                "Спасибо!",
                "Ваши ответы сохранены. Вместе с ними хранится только дата, без времени и без данных о вас или вашем устройстве.",
            ),
            Lang::En => (
                "Thank you!",
                "Your answers are saved. Only the date is kept with them: no time, and nothing about you or your device.",
            ),
        };
        MessagePage {
            lang: lang.as_str(),
            heading: heading.into(),
            paragraphs: vec![title, body.into()],
            link: None,
        }
    }

    pub fn simple(lang: Lang, heading: &str, paragraph: &str) -> Self {
        MessagePage {
            lang: lang.as_str(),
            heading: heading.into(),
            paragraphs: vec![paragraph.into()],
            link: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::answers::Problem;
    use crate::survey::{Access, Status, demo};
    use serde_json::json;

    fn survey() -> Survey {
        Survey {
            id: 1,
            status: Status::Open,
            access: Access::Open,
            synthetic: true,
            definition: demo::definition(),
        }
    }

    #[test]
    fn a_rejected_form_keeps_values_and_names_the_problem() {
        let values = json!({"leak_worry": 4, "concerns": ["data_leak"], "comment": "<b>hi</b>"});
        let problems = [AnswerProblem {
            question: "portal_account".into(),
            problem: Problem::Required,
        }];
        let page = FormPage::new(
            &survey(),
            FormState {
                lang: Lang::En,
                submission_id: "sid".into(),
                form_token: "tok".into(),
                invitation: Some("AB CD".into()),
                values: values.as_object().unwrap(),
                problems: &problems,
                banner: None,
            },
        );
        let html = page.render().unwrap();
        assert!(html.contains(r#"value="4" checked"#));
        assert!(html.contains(r#"value="data_leak" checked"#));
        assert!(html.contains("&#60;b&#62;hi&#60;/b&#62;") || html.contains("&lt;b&gt;hi"));
        assert!(
            html.contains(
                r#"<p class="err" id="e-portal_account">Please answer this question.</p>"#
            )
        );
        assert!(html.contains(r##"href="#q-portal_account""##));
        assert!(html.contains(r#"lang="en""#));
        assert!(html.contains(r#"name="invitation" value="AB CD""#));
        assert!(
            html.contains(r#"href="/s/digital-trust?lang=ru&#38;i=AB+CD""#)
                || html.contains(r#"href="/s/digital-trust?lang=ru&amp;i=AB+CD""#),
            "{html}"
        );
    }
}
