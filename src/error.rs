//! One error type for every route: a status, a stable snake_case code, a
//! message for people and, for invalid input, the details of each problem.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One problem with one field or answer: `field` names a parameter or body
/// field, `question` a question code.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Detail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    pub problem: String,
    pub message: String,
}

impl Detail {
    pub fn field(field: impl Into<String>, problem: &str, message: impl Into<String>) -> Self {
        Detail {
            field: Some(field.into()),
            question: None,
            problem: problem.into(),
            message: message.into(),
        }
    }

    pub fn question(
        question: impl Into<String>,
        problem: &str,
        message: impl Into<String>,
    ) -> Self {
        Detail {
            field: None,
            question: Some(question.into()),
            problem: problem.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(u64),
    #[error("too many submissions from this address; try again in {0} s")]
    RateLimited(u64),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<Detail>,
    },
    #[error("the store is unavailable, try again shortly")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// The one error body of every JSON route.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// What went wrong, as a stable snake_case code (`invalid`, `not_found`,
    /// `unauthorized`, `survey_closed`, …).
    #[schema(pattern = "^[a-z][a-z0-9_]*$")]
    pub error: &'a str,
    /// For people; for a 5xx a generic text (the cause goes to the log).
    pub message: String,
    /// For invalid input (422): each problem, naming its field or question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<&'a [Detail]>,
}

impl AppError {
    pub fn invalid(message: impl Into<String>, details: Vec<Detail>) -> Self {
        AppError::Invalid {
            message: message.into(),
            details,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Malformed(_) => "malformed",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict { code, .. } => code,
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::BodyTimeout(_) => "timeout",
            AppError::RateLimited(_) => "rate_limited",
            AppError::TooLarge(_) => "too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Invalid { .. } => "invalid",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Malformed(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) | AppError::Unavailable(cause) = self {
            // The chain goes to the log; the client gets a generic message.
            let request_id = crate::telemetry::current_request_id()
                .map(|id| id.to_string())
                .unwrap_or_default();
            tracing::error!(%request_id, error = %format!("{cause:#}"), "request failed");
        }
        let details = match self {
            AppError::Invalid { details, .. } => Some(details.as_slice()),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            AppError::Unauthorized(_) => {
                response.append_header((header::WWW_AUTHENTICATE, "Bearer"));
                response.append_header((header::WWW_AUTHENTICATE, r#"Basic realm="trustpulse""#));
            }
            AppError::RateLimited(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
            details,
        })
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AppError::NotFound("not found".into()),
            other if crate::db::is_unavailable(&other) => AppError::Unavailable(other.into()),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(e.into())
    }
}
